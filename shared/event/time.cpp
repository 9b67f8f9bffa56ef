// RFC 3339 timestamps <-> UTC milliseconds with civil-calendar arithmetic only (no timegm, no
// locale, no time zone database): the offset in the text is all that is needed.
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/event/civil_time.h"
#include "shared/event/event.h"

namespace cjd {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `*pos`.
bool ReadDigits(std::string_view s, size_t* pos, int n, int* out) {
  if (*pos + static_cast<size_t>(n) > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[*pos + static_cast<size_t>(i)];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += static_cast<size_t>(n);
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

Result<int64_t> ParseRfc3339(std::string_view text) {
  const auto bad_format = [] {
    return Status::Invalid(
        "must be an RFC 3339 date-time with an offset, like 2026-11-23T14:12:36.120+01:00");
  };
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &pos, 4, &year) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &month) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &day)) {
    return bad_format();
  }
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't')) return bad_format();
  ++pos;
  if (!ReadDigits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &second)) {
    return bad_format();
  }
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int n = 0;
    for (; pos < text.size() && IsDigit(text[pos]); ++pos, ++n) {
      if (n < 3) millis = millis * 10 + (text[pos] - '0');
    }
    if (n == 0) return bad_format();
    for (; n < 3; ++n) millis *= 10;
  }
  int offset_minutes = 0;
  if (pos >= text.size()) return bad_format();  // the offset is mandatory
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!ReadDigits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &om)) {
      return bad_format();
    }
    if (oh > 23 || om > 59) return Status::Invalid("has a UTC offset out of range (max 23:59)");
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return bad_format();
  }
  if (pos != text.size()) return bad_format();

  if (year < 1970 || year > 9999) return Status::Invalid("has a year outside 1970..9999");
  if (month < 1 || month > 12) return Status::Invalid("has a month outside 01..12");
  if (day < 1 || day > DaysInMonth(year, month)) {
    return Status::Invalid("has a day that does not exist in that month");
  }
  if (hour > 23 || minute > 59 || second > 60) return Status::Invalid("has a time out of range");
  if (second == 60) {  // a leap second: held at the last millisecond before the next minute
    second = 59;
    millis = 999;
  }
  const int64_t days = DaysFromCivil(year, month, day);
  const int64_t local_ms =
      days * kMsPerDay + ((hour * 60 + minute) * 60 + second) * int64_t{1000} + millis;
  return local_ms - int64_t{offset_minutes} * 60'000;
}

std::string FormatRfc3339(int64_t utc_ms) {
  // Floor division so that instants before 1970 format correctly too.
  int64_t days = utc_ms / kMsPerDay;
  int64_t rem = utc_ms % kMsPerDay;
  if (rem < 0) {
    rem += kMsPerDay;
    --days;
  }
  const CivilDate date = CivilFromDays(days);
  const int64_t secs = rem / 1000;
  std::string out;
  out.reserve(24);
  AppendZeroPadded(&out, date.year, 4);
  out.push_back('-');
  AppendZeroPadded(&out, date.month, 2);
  out.push_back('-');
  AppendZeroPadded(&out, date.day, 2);
  out.push_back('T');
  AppendZeroPadded(&out, secs / 3600, 2);
  out.push_back(':');
  AppendZeroPadded(&out, secs / 60 % 60, 2);
  out.push_back(':');
  AppendZeroPadded(&out, secs % 60, 2);
  out.push_back('.');
  AppendZeroPadded(&out, rem % 1000, 3);
  out.push_back('Z');
  return out;
}

}  // namespace cjd
