// TimeZone: an IANA time zone read from the tz database (TZif files in /usr/share/zoneinfo, or
// $TZDIR), to turn local wall-clock times from import files into UTC instants.
//
// Why not setenv("TZ") + mktime: that changes process-wide state that other threads read
// (spdlog's localtime_r, the HTTP client), and setenv racing with getenv is undefined behaviour;
// a mutex only protects callers that take it. GCC 12's libstdc++ has no std::chrono::tzdb. So
// this class parses the TZif file itself (RFC 8536: version 1 to 4, 64-bit data, and the POSIX TZ
// rule in the footer for instants after the last listed transition). A loaded TimeZone is
// immutable and safe to share between threads.
//
// Local -> UTC follows the "compatible" rule (as JavaScript Temporal and most calendars do):
//   - an ambiguous wall-clock time (the repeated hour when clocks go back) is the EARLIER instant,
//     e.g. Europe/London 2011-10-30 01:30 -> 00:30Z (still BST);
//   - a wall-clock time that does not exist (the skipped hour when clocks go forward) is moved
//     forward by the length of the gap, e.g. Europe/London 2011-03-27 01:30 -> 01:30Z (02:30 BST).
// Leap seconds are not modelled (POSIX time); "right/..." zones are refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/core/status.h"
#include "shared/event/civil_time.h"

namespace cjd::import {

class TimeZone {
 public:
  // "UTC" with no transitions.
  TimeZone();

  // Loads `name` ("Europe/London") from `zoneinfo_dir`; empty = $TZDIR, else /usr/share/zoneinfo.
  // Names must be relative paths of [A-Za-z0-9_+-] components (no "..").
  static Result<TimeZone> Load(std::string_view name, std::string zoneinfo_dir = {});

  // Parses a TZif image (the contents of a zoneinfo file); `name` is only for messages.
  static Result<TimeZone> FromTzif(std::string_view name, std::string_view data);

  const std::string& name() const { return name_; }

  // The UTC offset in seconds (east positive) in force at `utc_seconds` (Unix time).
  int32_t OffsetAt(int64_t utc_seconds) const;

  // The Unix time of the wall-clock time `local_seconds` (seconds since 1970-01-01T00:00:00 on
  // the local clock), with the "compatible" rule above.
  int64_t LocalToUtc(int64_t local_seconds) const;

 private:
  struct Type {
    int32_t utoff = 0;
    bool is_dst = false;
  };
  // A POSIX TZ rule day ("M3.5.0", "J60", "59") and time of day in seconds.
  struct RuleDate {
    char kind = 'M';  // 'M' month.week.weekday, 'J' Julian 1..365 without Feb 29, 'D' 0..365
    int month = 0, week = 0, weekday = 0;
    int day = 0;
    int32_t time = 2 * 3600;
  };
  struct PosixRule {
    bool present = false;
    int32_t std_offset = 0;  // east positive
    bool has_dst = false;
    int32_t dst_offset = 0;
    RuleDate start, end;
  };

  static Status ParsePosixRule(std::string_view text, PosixRule* rule);
  int32_t RuleOffsetAt(int64_t utc_seconds) const;

  std::string name_ = "UTC";
  std::vector<int64_t> transitions_;  // ascending Unix times
  std::vector<uint8_t> type_index_;   // type in force from transitions_[i]
  std::vector<Type> types_{Type{}};   // types_[0] applies before the first transition
  PosixRule rule_;                    // applies from the last transition on, when present
};

// Days since 1970-01-01 of a proleptic Gregorian date (shared/event/civil_time.h).
using ::cjd::DaysFromCivil;

// An import file's date-time, resolved to an instant.
struct ImportTime {
  int64_t utc_ms = 0;
  std::string rfc3339;  // local wall-clock time with its offset, "2011-06-01T10:00:00+01:00";
                        // "Z" when the offset is zero; ".mmm" only when milliseconds are non-zero
};

// Accepts "YYYY-MM-DD HH:MM[:SS[.fff]]" or with 'T' instead of the space, optionally followed by
// "Z" or an offset "+HH:MM" / "-HH:MM" (RFC 3339). Without an offset the text is a wall-clock
// time in `tz` (null: an error asking for --timezone). Fractions beyond milliseconds are
// truncated. Years outside 1970..9999 (of the resulting wall-clock date) are refused, as the hub's
// event schema refuses them. On failure the Status message says what is wrong (no field name).
Result<ImportTime> ParseImportTime(std::string_view text, const TimeZone* tz);

}  // namespace cjd::import
