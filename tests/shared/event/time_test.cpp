#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "shared/event/event.h"

namespace cjd {
namespace {

using ::testing::HasSubstr;

int64_t Ms(const std::string& text) {
  Result<int64_t> r = ParseRfc3339(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : -1;
}

constexpr int64_t kContractExampleUtcMs = 1'795'439'556'120;  // 2026-11-23T13:12:36.120Z

TEST(Rfc3339, ParsesTheContractExampleWithAPositiveOffset) {
  EXPECT_EQ(Ms("2026-11-23T14:12:36.120+01:00"), kContractExampleUtcMs);
}

TEST(Rfc3339, SameInstantInEveryOffsetGivesTheSameMilliseconds) {
  EXPECT_EQ(Ms("2026-11-23T13:12:36.120Z"), kContractExampleUtcMs);
  EXPECT_EQ(Ms("2026-11-23T13:12:36.120z"), kContractExampleUtcMs);
  EXPECT_EQ(Ms("2026-11-23t13:12:36.120Z"), kContractExampleUtcMs);
  EXPECT_EQ(Ms("2026-11-23T13:12:36.120+00:00"), kContractExampleUtcMs);
  EXPECT_EQ(Ms("2026-11-23T13:12:36.120-00:00"), kContractExampleUtcMs);
  EXPECT_EQ(Ms("2026-11-23T08:42:36.120-04:30"), kContractExampleUtcMs);
  EXPECT_EQ(Ms("2026-11-24T02:57:36.120+13:45"), kContractExampleUtcMs);
  EXPECT_EQ(Ms("2026-11-22T13:13:36.120-23:59"), kContractExampleUtcMs);
}

TEST(Rfc3339, OffsetCanCrossMidnightYearAndEpochBoundaries) {
  EXPECT_EQ(Ms("2027-01-01T00:30:00+01:00"), Ms("2026-12-31T23:30:00Z"));
  EXPECT_EQ(Ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Ms("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(Ms("1970-01-01T00:00:00+01:00"), -3'600'000);
}

TEST(Rfc3339, TruncatesFractionsToMilliseconds) {
  EXPECT_EQ(Ms("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(Ms("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(Ms("1970-01-01T00:00:01.05Z"), 1050);
  EXPECT_EQ(Ms("1970-01-01T00:00:01.123456789Z"), 1123);
  EXPECT_EQ(Ms("1970-01-01T00:00:01.9999999999999999999999Z"), 1999);
}

TEST(Rfc3339, AcceptsLeapDayOnlyInLeapYears) {
  EXPECT_EQ(Ms("2024-02-29T00:00:00Z"), 1'709'164'800'000);
  EXPECT_EQ(Ms("2000-02-29T12:00:00Z"), 951'825'600'000);  // divisible by 400
  EXPECT_FALSE(ParseRfc3339("2023-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2100-02-29T00:00:00Z").ok());  // divisible by 100, not 400
  EXPECT_FALSE(ParseRfc3339("2024-02-30T00:00:00Z").ok());
}

TEST(Rfc3339, RejectsDaysAndMonthsThatDoNotExist) {
  for (const char* text :
       {"2026-04-31T00:00:00Z", "2026-06-31T00:00:00Z", "2026-00-10T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z"}) {
    Result<int64_t> r = ParseRfc3339(text);
    EXPECT_FALSE(r.ok()) << text;
  }
  EXPECT_EQ(Ms("2026-01-31T00:00:00Z") + 86'400'000, Ms("2026-02-01T00:00:00Z"));
}

TEST(Rfc3339, RejectsTimesOutOfRange) {
  for (const char* text : {"2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:61Z",
                           "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+01:60"}) {
    EXPECT_FALSE(ParseRfc3339(text).ok()) << text;
  }
}

TEST(Rfc3339, HoldsALeapSecondAtTheLastMillisecondOfTheMinute) {
  EXPECT_EQ(Ms("2016-12-31T23:59:60Z"), Ms("2016-12-31T23:59:59.999Z"));
  EXPECT_LT(Ms("2016-12-31T23:59:59.5Z"), Ms("2016-12-31T23:59:60Z"));
}

TEST(Rfc3339, RequiresAnOffset) {
  Result<int64_t> r = ParseRfc3339("2026-11-23T14:12:36.120");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_THAT(r.status().message(), HasSubstr("RFC 3339 date-time with an offset"));
}

TEST(Rfc3339, RejectsOtherShapes) {
  for (const char* text :
       {"", "2026-11-23", "2026-11-23 14:12:36Z", "2026-11-23T14:12Z", "2026-11-23T14:12:36.Z",
        "2026-11-23T14:12:36+0100", "2026-11-23T14:12:36+01", "2026-11-23T14:12:36 Z",
        "2026-11-23T14:12:36Z ", " 2026-11-23T14:12:36Z", "26-11-23T14:12:36Z",
        "2026-1-23T14:12:36Z", "2026/11/23T14:12:36Z", "2026-11-23T14:12:36,5Z", "20261123T141236Z",
        "2026-11-23T14:12:36UTC", "+2026-11-23T14:12:36Z", "2026-11-23T14:12:36Zjunk",
        "2026-11-23T14:12:36+01:00:00"}) {
    EXPECT_FALSE(ParseRfc3339(text).ok()) << '"' << text << '"';
  }
}

TEST(Rfc3339, AcceptsYears1970Through9999Only) {
  EXPECT_FALSE(ParseRfc3339("1969-12-31T23:59:59Z").ok());
  EXPECT_FALSE(ParseRfc3339("0000-01-01T00:00:00Z").ok());
  EXPECT_EQ(Ms("9999-12-31T23:59:59.999Z"), 253'402'300'799'999);
}

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(kContractExampleUtcMs), "2026-11-23T13:12:36.120Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1'709'164'800'000), "2024-02-29T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(253'402'300'799'999), "9999-12-31T23:59:59.999Z");
}

TEST(Rfc3339, FormatsInstantsBeforeTheEpoch) {
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(-3'600'000), "1969-12-31T23:00:00.000Z");
}

TEST(Rfc3339, FormatThenParseRoundTrips) {
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{951'825'600'000}, kContractExampleUtcMs,
                     int64_t{4'102'444'799'999}, int64_t{253'402'300'799'999}}) {
    EXPECT_EQ(Ms(FormatRfc3339(ms)), ms) << ms;
  }
  // Every day over four centuries, at an awkward time of day.
  for (int64_t day = 0; day < 146'097; day += 7) {
    const int64_t ms = day * 86'400'000 + 45'296'789;
    ASSERT_EQ(Ms(FormatRfc3339(ms)), ms) << FormatRfc3339(ms);
  }
}

}  // namespace
}  // namespace cjd
