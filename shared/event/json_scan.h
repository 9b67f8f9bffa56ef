// A scanner for the members of a JSON object that builds no document: where a hot path only moves
// a few members of a large canonical event (sealing its personal part, hub/store/event_vault.h),
// parsing and printing the whole event would cost more than everything else it does.
//
// It checks structure (balanced brackets, terminated strings, a key and ':' per member), not
// values: callers that need a value's meaning parse that value alone. Keys containing an escape
// are refused (false), so a key can never be spelt to hide from a caller comparing it as written;
// callers then fall back to a full parse.
#pragma once

#include <string_view>
#include <vector>

namespace cjd {

struct JsonMember {
  std::string_view key;    // as written, without quotes (never contains a backslash)
  std::string_view value;  // the value's text
  std::string_view text;   // the whole member: "key":value
};

// The members of the object `text` (surrounding whitespace allowed), in order. False when `text`
// is not one object, or a key has an escape.
bool ScanObject(std::string_view text, std::vector<JsonMember>* out);

// The JSON string `value` (with its quotes) without escapes, when it has none; false otherwise
// (the caller decodes it with a full parser).
bool PlainString(std::string_view value, std::string_view* out);

}  // namespace cjd
