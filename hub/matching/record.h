// A person record as the matcher takes it: raw text per field, as read from a file or the hub's
// profile store. Normalisation happens inside the matcher (normalize.h), so callers pass values
// as they are; an empty string is a missing value.
#pragma once

#include <array>
#include <string>

#include "hub/matching/fields.h"

namespace cjd::hub::matching {

struct Record {
  // Names the record in the output only. It never influences matching: the matcher does not
  // read it (tests/hub/matching/dedupe_test.cpp checks that shuffling and renaming change nothing).
  std::string id;
  std::array<std::string, kFieldCount> fields;

  std::string& operator[](Field f) { return fields[Index(f)]; }
  const std::string& operator[](Field f) const { return fields[Index(f)]; }
};

}  // namespace cjd::hub::matching
