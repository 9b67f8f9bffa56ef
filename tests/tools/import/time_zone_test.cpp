// TimeZone (TZif + POSIX rules) and ParseImportTime: DST in both directions, gaps, repeated
// hours, the far future (footer rule), and a cross-check against glibc's localtime_r.
#include "tools/cjdctl/import/time_zone.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "shared/event/event.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/import/test_util.h"

namespace cjd::import {
namespace {

int64_t Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

TimeZone Zone(const char* name) {
  Result<TimeZone> tz = TimeZone::Load(name);
  if (!tz.ok()) ADD_FAILURE() << tz.status().ToString();
  return tz.ok() ? *tz : TimeZone();
}

ImportTime Parse(std::string_view text, const TimeZone* tz) {
  Result<ImportTime> t = ParseImportTime(text, tz);
  if (!t.ok()) {
    ADD_FAILURE() << text << ": " << t.status().ToString();
    return {};
  }
  return *t;
}

TEST(TimeZone, LondonWinterAndSummer) {
  const TimeZone london = Zone("Europe/London");
  EXPECT_EQ(london.name(), "Europe/London");
  const ImportTime winter = Parse("2011-01-15 10:00:00", &london);
  EXPECT_EQ(winter.utc_ms, Utc(2011, 1, 15, 10, 0) * 1000);
  EXPECT_EQ(winter.rfc3339, "2011-01-15T10:00:00Z");

  const ImportTime summer = Parse("2011-06-01 10:00:00", &london);
  EXPECT_EQ(summer.utc_ms, Utc(2011, 6, 1, 9, 0) * 1000);  // 10:00 BST = 09:00Z
  EXPECT_EQ(summer.rfc3339, "2011-06-01T10:00:00+01:00");
  EXPECT_EQ(FormatRfc3339(summer.utc_ms), "2011-06-01T09:00:00.000Z");
  // What we emit is valid for the hub's RFC 3339 parser and means the same instant.
  Result<int64_t> back = ParseRfc3339(summer.rfc3339);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, summer.utc_ms);

  // The 'T' form and minute resolution.
  EXPECT_EQ(Parse("2011-06-01T10:00", &london).utc_ms, summer.utc_ms);
}

TEST(TimeZone, LondonDaylightSavingEdges2011) {
  const TimeZone london = Zone("Europe/London");
  // Clocks go forward at 01:00Z on 2011-03-27.
  EXPECT_EQ(london.OffsetAt(Utc(2011, 3, 27, 0, 59, 59)), 0);
  EXPECT_EQ(london.OffsetAt(Utc(2011, 3, 27, 1, 0)), 3600);
  EXPECT_EQ(Parse("2011-03-27 00:59:00", &london).utc_ms, Utc(2011, 3, 27, 0, 59) * 1000);
  EXPECT_EQ(Parse("2011-03-27 02:00:00", &london).utc_ms, Utc(2011, 3, 27, 1, 0) * 1000);
  // 01:30 does not exist: moved forward by the gap, to 02:30 BST = 01:30Z.
  const ImportTime gap = Parse("2011-03-27 01:30:00", &london);
  EXPECT_EQ(gap.utc_ms, Utc(2011, 3, 27, 1, 30) * 1000);
  EXPECT_EQ(gap.rfc3339, "2011-03-27T02:30:00+01:00");

  // Clocks go back at 01:00Z on 2011-10-30: 01:00-02:00 local happens twice; the earlier wins.
  const ImportTime twice = Parse("2011-10-30 01:30:00", &london);
  EXPECT_EQ(twice.utc_ms, Utc(2011, 10, 30, 0, 30) * 1000);
  EXPECT_EQ(twice.rfc3339, "2011-10-30T01:30:00+01:00");
  EXPECT_EQ(Parse("2011-10-30 02:00:00", &london).utc_ms, Utc(2011, 10, 30, 2, 0) * 1000);
  EXPECT_EQ(Parse("2011-10-30 00:59:00", &london).utc_ms, Utc(2011, 10, 29, 23, 59) * 1000);
}

TEST(TimeZone, FarFutureUsesTheFooterRule) {
  const TimeZone london = Zone("Europe/London");
  EXPECT_EQ(Parse("2050-07-01 12:00:00", &london).utc_ms, Utc(2050, 7, 1, 11, 0) * 1000);
  EXPECT_EQ(Parse("2050-12-01 12:00:00", &london).utc_ms, Utc(2050, 12, 1, 12, 0) * 1000);
  // Last Sunday of March 2050 is the 27th; of October, the 30th.
  EXPECT_EQ(london.OffsetAt(Utc(2050, 3, 27, 0, 59)), 0);
  EXPECT_EQ(london.OffsetAt(Utc(2050, 3, 27, 1, 0)), 3600);
  EXPECT_EQ(london.OffsetAt(Utc(2050, 10, 30, 0, 59)), 3600);
  EXPECT_EQ(london.OffsetAt(Utc(2050, 10, 30, 1, 0)), 0);
}

TEST(TimeZone, OtherZones) {
  const TimeZone ny = Zone("America/New_York");
  EXPECT_EQ(Parse("2011-07-04 12:00:00", &ny).rfc3339, "2011-07-04T12:00:00-04:00");
  EXPECT_EQ(Parse("2011-01-04 12:00:00", &ny).utc_ms, Utc(2011, 1, 4, 17, 0) * 1000);
  const TimeZone sydney = Zone("Australia/Sydney");  // southern hemisphere: DST over new year
  EXPECT_EQ(Parse("2011-01-10 12:00:00", &sydney).rfc3339, "2011-01-10T12:00:00+11:00");
  EXPECT_EQ(Parse("2011-07-10 12:00:00", &sydney).rfc3339, "2011-07-10T12:00:00+10:00");
  const TimeZone kolkata = Zone("Asia/Kolkata");
  EXPECT_EQ(Parse("2011-07-10 12:00:00", &kolkata).utc_ms, Utc(2011, 7, 10, 6, 30) * 1000);
  const TimeZone utc = Zone("UTC");
  EXPECT_EQ(Parse("2011-07-10 12:00:00", &utc).rfc3339, "2011-07-10T12:00:00Z");
}

TEST(TimeZone, ExplicitOffsetsNeedNoZone) {
  EXPECT_EQ(Parse("2011-06-01T10:00:00+01:00", nullptr).utc_ms, Utc(2011, 6, 1, 9, 0) * 1000);
  EXPECT_EQ(Parse("2011-06-01 10:00:00Z", nullptr).rfc3339, "2011-06-01T10:00:00Z");
  const ImportTime t = Parse("2011-06-01T10:00:00.25-05:30", nullptr);
  EXPECT_EQ(t.utc_ms, Utc(2011, 6, 1, 15, 30) * 1000 + 250);
  EXPECT_EQ(t.rfc3339, "2011-06-01T10:00:00.250-05:30");
  // An explicit offset wins over --timezone.
  const TimeZone london = Zone("Europe/London");
  EXPECT_EQ(Parse("2011-06-01T10:00:00Z", &london).utc_ms, Utc(2011, 6, 1, 10, 0) * 1000);
}

TEST(TimeZone, BadDateTimes) {
  const TimeZone london = Zone("Europe/London");
  for (const char* text :
       {"", "2011-02-30 10:00:00", "2011-13-01 10:00:00", "2011-06-01 24:00:00", "2011-06-01",
        "01/06/2011 10:00", "2011-06-01 10:00:00 +01:00", "2011-06-01 10:00:60",
        "2011-06-01T10:00:00+0100", "2011-06-01 10:00x"}) {
    EXPECT_FALSE(ParseImportTime(text, &london).ok()) << text;
  }
  Result<ImportTime> naive = ParseImportTime("2011-06-01 10:00:00", nullptr);
  ASSERT_FALSE(naive.ok());
  EXPECT_NE(naive.status().message().find("no --timezone"), std::string::npos);
  EXPECT_TRUE(ParseImportTime("2012-02-29 10:00:00", &london).ok());
}

// Found by fuzz_csv_import: a year the hub's schema refuses (1970..9999) was turned into an
// event the hub then answered 400 for, instead of a bad row.
TEST(TimeZone, YearsOutsideTheHubsRangeAreBadRows) {
  const TimeZone london = Zone("Europe/London");
  for (const char* text : {"1010-12-01T08:26:00Z", "0000-01-01 00:00:00", "1969-12-31T23:59:59Z",
                           "1969-12-31T23:59:59-01:00"}) {
    Result<ImportTime> t = ParseImportTime(text, &london);
    ASSERT_FALSE(t.ok()) << text << " -> " << t->rfc3339;
    EXPECT_NE(t.status().message().find("year outside 1970..9999"), std::string::npos)
        << t.status().ToString();
  }
  EXPECT_EQ(Parse("1970-01-01T00:30:00+01:00", nullptr).rfc3339, "1970-01-01T00:30:00+01:00");
  EXPECT_EQ(Parse("9999-12-31T23:59:59-01:00", nullptr).rfc3339, "9999-12-31T23:59:59-01:00");
}

TEST(TimeZone, LoadErrors) {
  for (const char* name : {"", "../etc/passwd", "/etc/localtime", "Europe//London", "Europe/",
                           "Europe/London ", "Europe/L.ondon"}) {
    Result<TimeZone> tz = TimeZone::Load(name);
    ASSERT_FALSE(tz.ok()) << name;
    EXPECT_NE(tz.status().message().find("--timezone"), std::string::npos);
  }
  Result<TimeZone> unknown = TimeZone::Load("Europe/Atlantis");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown time zone 'Europe/Atlantis'"),
            std::string::npos);

  cjd::testing::TempDir dir("cjd-tz-");
  testing::WriteFile(dir.Join("Bogus").string(), "not a tzif file at all, sorry, just text......");
  Result<TimeZone> bogus = TimeZone::Load("Bogus", dir.path().string());
  ASSERT_FALSE(bogus.ok());
  EXPECT_NE(bogus.status().message().find("not a valid TZif file"), std::string::npos);
  // A truncated real file.
  const std::string london = testing::ReadFile("/usr/share/zoneinfo/Europe/London");
  ASSERT_GT(london.size(), 200u);
  EXPECT_FALSE(TimeZone::FromTzif("cut", london.substr(0, 200)).ok());
}

// Offsets agree with glibc (which reads the same files) at ~60,000 instants per zone from 1901
// to 2099 (an odd step, so every time of day and season comes up), and local -> UTC -> local is
// consistent everywhere.
TEST(TimeZone, AgreesWithGlibcLocaltime) {
  const char* zones[] = {"Europe/London",       "America/New_York",  "Australia/Sydney",
                         "Australia/Lord_Howe", "Asia/Kolkata",      "America/Sao_Paulo",
                         "Pacific/Chatham",     "Africa/Casablanca", "Europe/Dublin",
                         "America/St_Johns"};
  const char* old_tz = std::getenv("TZ");
  const std::string saved = old_tz != nullptr ? old_tz : "";
  for (const char* name : zones) {
    const TimeZone tz = Zone(name);
    setenv("TZ", (std::string(":") + name).c_str(), 1);
    tzset();
    int mismatches = 0;
    for (int64_t t = Utc(1901, 12, 14, 0, 0); t < Utc(2099, 12, 1, 0, 0);
         t += 29 * 3600 + 17 * 60 + 7) {
      const time_t tt = static_cast<time_t>(t);
      struct tm tm {};
      ASSERT_NE(localtime_r(&tt, &tm), nullptr);
      if (tz.OffsetAt(t) != tm.tm_gmtoff && ++mismatches <= 5) {
        ADD_FAILURE() << name << " at " << t << ": ours " << tz.OffsetAt(t) << ", glibc "
                      << tm.tm_gmtoff;
      }
      // Round trip: the wall clock at t maps back to t, or to an earlier instant with the same
      // wall clock (a repeated hour).
      const int64_t local = t + tz.OffsetAt(t);
      const int64_t back = tz.LocalToUtc(local);
      if ((back + tz.OffsetAt(back) != local || back > t) && ++mismatches <= 5) {
        ADD_FAILURE() << name << " round trip at " << t << " -> " << back;
      }
    }
    EXPECT_EQ(mismatches, 0) << name;
  }
  if (old_tz != nullptr) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

}  // namespace
}  // namespace cjd::import
