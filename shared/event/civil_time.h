// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01), after
// H. Hinnant's "chrono-compatible low-level date algorithms". Pure functions, no time zone
// database, no locale; valid for every year an int64_t day count can hold in practice.
// Used by the RFC 3339 parser/formatter (time.cpp) and by cjdctl import's time-zone reader.
#pragma once

#include <cstdint>
#include <string>

namespace cjd {

struct CivilDate {
  int64_t year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
};

// Days since 1970-01-01 of year-month-day (days_from_civil). REQUIRES: 1 <= month <= 12; day may
// be any value (day 0 is the last day of the month before).
int64_t DaysFromCivil(int64_t year, int month, int day);

// The date of a day number (civil_from_days); negative days are before 1970.
CivilDate CivilFromDays(int64_t days);

bool IsLeapYear(int64_t year);
// REQUIRES: 1 <= month <= 12.
int DaysInMonth(int64_t year, int month);

// Floor division (rounds toward minus infinity), for splitting negative Unix times into days.
// REQUIRES: divisor > 0.
int64_t FloorDiv(int64_t value, int64_t divisor);

// Appends `value` in decimal, zero-padded to at least `width` digits ("-" before the padding).
void AppendZeroPadded(std::string* out, int64_t value, int width);

}  // namespace cjd
