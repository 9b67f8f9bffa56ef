// RFC 3339 timestamps <-> UTC milliseconds with civil-calendar arithmetic only (no timegm, no
// locale, no time zone database): the offset in the text is all that is needed.
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/event/event.h"

namespace cjd {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The inverse (H. Hinnant's civil_from_days).
void CivilFromDays(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

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

void AppendPadded(std::string* out, int64_t v, int width) {
  char buf[24];
  int n = 0;
  uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  do {
    buf[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) out->push_back('-');
  for (int i = n; i < width; ++i) out->push_back('0');
  while (n > 0) out->push_back(buf[--n]);
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
  int64_t y = 0, m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  const int64_t secs = rem / 1000;
  std::string out;
  out.reserve(24);
  AppendPadded(&out, y, 4);
  out.push_back('-');
  AppendPadded(&out, m, 2);
  out.push_back('-');
  AppendPadded(&out, d, 2);
  out.push_back('T');
  AppendPadded(&out, secs / 3600, 2);
  out.push_back(':');
  AppendPadded(&out, secs / 60 % 60, 2);
  out.push_back(':');
  AppendPadded(&out, secs % 60, 2);
  out.push_back('.');
  AppendPadded(&out, rem % 1000, 3);
  out.push_back('Z');
  return out;
}

}  // namespace cjd
