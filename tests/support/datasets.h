// Tests that read the team kit's data sets (../shared/datasets) skip when the kit is absent, so
// a user's fresh clone still passes. When the kit is there, tests/run.sh sets
// CJD_REQUIRE_DATASETS=1 and a missing or unreadable data set is a failure instead: CI must not
// stay green because the data quietly went away.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

namespace cjd::testing {

inline bool DatasetsRequired() {
  const char* v = std::getenv("CJD_REQUIRE_DATASETS");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

}  // namespace cjd::testing

// Skips the test for `why` (missing data), or fails it when the data sets are required.
#define CJD_SKIP_WITHOUT_DATA(why)                                                          \
  do {                                                                                      \
    if (::cjd::testing::DatasetsRequired()) {                                               \
      GTEST_FAIL() << (why)                                                                 \
                   << " — CJD_REQUIRE_DATASETS=1 (tests/run.sh found ../shared): the data " \
                      "sets must be readable";                                              \
    }                                                                                       \
    GTEST_SKIP() << (why);                                                                  \
  } while (0)
