// The built-in RFM segments the hub registers at start. Plain data: ids, display names and
// rules in the segment language, so they are listed, evaluated and exported exactly like
// segments created through the API. Definitions and sources: hub/segments/README.md.
#pragma once

#include <span>
#include <string_view>

namespace cjd::hub::segments {

struct BuiltinSegment {
  std::string_view id;
  std::string_view name;
  std::string_view rule;
  std::string_view description;
};

// champions, loyal, new, at_risk, hibernating, needs_attention (in that order). Every rule parses
// (tested). The segments may overlap: a customer can be both a champion and loyal.
std::span<const BuiltinSegment> BuiltinSegments();

}  // namespace cjd::hub::segments
