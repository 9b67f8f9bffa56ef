// TZif reader (RFC 8536) and the POSIX TZ rule of its footer; see time_zone.h for why.
#include "tools/cjdctl/import/time_zone.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include "shared/event/civil_time.h"

namespace cjd::import {
namespace {

constexpr int64_t kSecondsPerDay = 86'400;
constexpr size_t kMaxTzifBytes = 1 << 20;

// Big-endian reader over the TZif image with bounds checks.
class Cursor {
 public:
  explicit Cursor(std::string_view data) : data_(data) {}
  bool Has(size_t n) const { return pos_ + n <= data_.size() && pos_ + n >= pos_; }
  bool Skip(size_t n) {
    if (!Has(n)) return false;
    pos_ += n;
    return true;
  }
  bool U8(uint8_t* out) {
    if (!Has(1)) return false;
    *out = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool I32(int32_t* out) {
    uint64_t v = 0;
    if (!Be(4, &v)) return false;
    *out = static_cast<int32_t>(static_cast<uint32_t>(v));
    return true;
  }
  bool I64(int64_t* out) {
    uint64_t v = 0;
    if (!Be(8, &v)) return false;
    *out = static_cast<int64_t>(v);
    return true;
  }
  std::string_view Rest() const { return data_.substr(pos_); }

 private:
  bool Be(size_t n, uint64_t* out) {
    if (!Has(n)) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    pos_ += n;
    *out = v;
    return true;
  }
  std::string_view data_;
  size_t pos_ = 0;
};

struct Header {
  char version = 0;
  uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

bool ReadHeader(Cursor* c, Header* h) {
  std::string_view rest = c->Rest();
  if (rest.size() < 44 || rest.substr(0, 4) != "TZif") return false;
  h->version = rest[4];
  c->Skip(20);
  uint32_t* counts[] = {&h->isutcnt, &h->isstdcnt, &h->leapcnt,
                        &h->timecnt, &h->typecnt,  &h->charcnt};
  for (uint32_t* p : counts) {
    int32_t v = 0;
    if (!c->I32(&v) || v < 0) return false;
    *p = static_cast<uint32_t>(v);
  }
  return true;
}

size_t DataBlockSize(const Header& h, size_t time_size) {
  return h.timecnt * time_size + h.timecnt + h.typecnt * 6 + h.charcnt +
         h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

// ---- POSIX TZ string pieces ------------------------------------------------------------------

// std/dst name: alphabetic (3+), or <...> quoted.
bool ParseZoneName(std::string_view s, size_t* pos) {
  if (*pos < s.size() && s[*pos] == '<') {
    const size_t close = s.find('>', *pos);
    if (close == std::string_view::npos) return false;
    *pos = close + 1;
    return true;
  }
  const size_t start = *pos;
  while (*pos < s.size() &&
         ((s[*pos] >= 'A' && s[*pos] <= 'Z') || (s[*pos] >= 'a' && s[*pos] <= 'z'))) {
    ++*pos;
  }
  return *pos - start >= 3;
}

bool ParseNumber(std::string_view s, size_t* pos, int max_digits, int* out) {
  int v = 0, n = 0;
  while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9' && n < max_digits) {
    v = v * 10 + (s[*pos] - '0');
    ++*pos;
    ++n;
  }
  *out = v;
  return n > 0;
}

// [+-]hh[:mm[:ss]] -> seconds (sign as written).
bool ParseHms(std::string_view s, size_t* pos, int32_t* out) {
  int sign = 1;
  if (*pos < s.size() && (s[*pos] == '+' || s[*pos] == '-')) {
    sign = s[*pos] == '-' ? -1 : 1;
    ++*pos;
  }
  int h = 0, m = 0, sec = 0;
  if (!ParseNumber(s, pos, 3, &h) || h > 167) return false;
  if (*pos < s.size() && s[*pos] == ':') {
    ++*pos;
    if (!ParseNumber(s, pos, 2, &m) || m > 59) return false;
    if (*pos < s.size() && s[*pos] == ':') {
      ++*pos;
      if (!ParseNumber(s, pos, 2, &sec) || sec > 59) return false;
    }
  }
  *out = sign * (h * 3600 + m * 60 + sec);
  return true;
}

// Local seconds (on the clock whose offset the rule time is given in) of a rule date in `year`.
int64_t RuleLocalSeconds(char kind, int month, int week, int weekday, int day, int32_t time,
                         int64_t year) {
  int64_t days = 0;
  if (kind == 'M') {
    const int64_t first = DaysFromCivil(year, month, 1);
    const int64_t wday_first = ((first % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday (4)
    int64_t d = (weekday - wday_first + 7) % 7 + (week - 1) * 7;
    while (d >= DaysInMonth(year, month)) d -= 7;  // week 5 = the last one
    days = first + d;
  } else if (kind == 'J') {
    days = DaysFromCivil(year, 1, 1) + day - 1 + (IsLeapYear(year) && day >= 60 ? 1 : 0);
  } else {
    days = DaysFromCivil(year, 1, 1) + day;
  }
  return days * kSecondsPerDay + time;
}

}  // namespace

TimeZone::TimeZone() = default;

Result<TimeZone> TimeZone::Load(std::string_view name, std::string zoneinfo_dir) {
  const std::string shown(name.substr(0, 80));
  // Relative path of safe components: no "..", no absolute paths, nothing odd.
  bool ok = !name.empty() && name.size() <= 128 && name.front() != '/' && name.back() != '/';
  for (size_t i = 0; ok && i < name.size(); ++i) {
    const char c = name[i];
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '+' || c == '-';
    ok = plain || (c == '/' && name[i - 1] != '/');
  }
  if (!ok) {
    return Status::Invalid("--timezone: '" + shown +
                           "' is not a time zone name like Europe/London or UTC");
  }
  if (zoneinfo_dir.empty()) {
    const char* env = std::getenv("TZDIR");
    zoneinfo_dir = env != nullptr && *env != '\0' ? env : "/usr/share/zoneinfo";
  }
  const std::string path = zoneinfo_dir + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Invalid("--timezone: unknown time zone '" + shown + "' (no file " + path +
                           "; is the tzdata package installed?)");
  }
  std::string data;
  data.resize(kMaxTzifBytes + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  if (in.bad() || data.size() > kMaxTzifBytes) {
    return Status::Invalid("--timezone: cannot read " + path);
  }
  return FromTzif(name, data);
}

Result<TimeZone> TimeZone::FromTzif(std::string_view name, std::string_view data) {
  const std::string shown(name.substr(0, 80));
  const auto bad = [&](const std::string& why) {
    return Status::Invalid("--timezone: '" + shown + "' is not a valid TZif file (" + why + ")");
  };
  Cursor c(data);
  Header h;
  if (!ReadHeader(&c, &h)) return bad("no TZif header");
  size_t time_size = 4;
  if (h.version != '\0') {
    // Version 2+: skip the 32-bit block and use the 64-bit one that follows.
    if (!c.Skip(DataBlockSize(h, 4))) return bad("truncated");
    if (!ReadHeader(&c, &h)) return bad("no second header");
    time_size = 8;
  }
  if (h.typecnt == 0 || h.typecnt > 256) return bad("bad type count");
  if (h.leapcnt != 0) {
    return Status::Invalid("--timezone: '" + shown +
                           "' counts leap seconds (a right/ zone); use the plain zone name");
  }
  if (!c.Has(DataBlockSize(h, time_size))) return bad("truncated");

  TimeZone tz;
  tz.name_ = std::string(name);
  tz.transitions_.resize(h.timecnt);
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    if (time_size == 8) {
      c.I64(&tz.transitions_[i]);
    } else {
      int32_t t = 0;
      c.I32(&t);
      tz.transitions_[i] = t;
    }
    if (i > 0 && tz.transitions_[i] <= tz.transitions_[i - 1]) return bad("unordered transitions");
  }
  tz.type_index_.resize(h.timecnt);
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    c.U8(&tz.type_index_[i]);
    if (tz.type_index_[i] >= h.typecnt) return bad("bad type index");
  }
  tz.types_.resize(h.typecnt);
  for (uint32_t i = 0; i < h.typecnt; ++i) {
    uint8_t isdst = 0, desig = 0;
    c.I32(&tz.types_[i].utoff);
    c.U8(&isdst);
    c.U8(&desig);
    if (tz.types_[i].utoff <= -25 * 3600 || tz.types_[i].utoff >= 26 * 3600) {
      return bad("offset out of range");
    }
    tz.types_[i].is_dst = isdst != 0;
  }
  c.Skip(h.charcnt + h.isstdcnt + h.isutcnt);

  if (time_size == 8) {
    // Footer: "\n" TZ-string "\n".
    const std::string_view rest = c.Rest();
    if (rest.size() >= 2 && rest[0] == '\n') {
      const size_t end = rest.find('\n', 1);
      if (end == std::string_view::npos) return bad("unterminated footer");
      const std::string_view tz_string = rest.substr(1, end - 1);
      if (!tz_string.empty()) {
        Status st = ParsePosixRule(tz_string, &tz.rule_);
        if (!st.ok()) return bad("footer '" + std::string(tz_string) + "': " + st.message());
      }
    }
  }
  return tz;
}

Status TimeZone::ParsePosixRule(std::string_view s, PosixRule* rule) {
  size_t pos = 0;
  int32_t v = 0;
  if (!ParseZoneName(s, &pos)) return Status::Invalid("bad standard time name");
  if (!ParseHms(s, &pos, &v)) return Status::Invalid("bad standard offset");
  rule->std_offset = -v;  // POSIX offsets are west-positive
  rule->present = true;
  if (pos == s.size()) return Status::Ok();
  if (!ParseZoneName(s, &pos)) return Status::Invalid("bad daylight time name");
  rule->has_dst = true;
  rule->dst_offset = rule->std_offset + 3600;
  if (pos < s.size() && s[pos] != ',') {
    if (!ParseHms(s, &pos, &v)) return Status::Invalid("bad daylight offset");
    rule->dst_offset = -v;
  }
  if (pos == s.size()) {
    // No rule given: the POSIX default used by glibc (US rules since 2007).
    rule->start = RuleDate{'M', 3, 2, 0, 0, 7200};
    rule->end = RuleDate{'M', 11, 1, 0, 0, 7200};
    return Status::Ok();
  }
  for (RuleDate* d : {&rule->start, &rule->end}) {
    if (pos >= s.size() || s[pos] != ',') return Status::Invalid("expected ','");
    ++pos;
    if (pos < s.size() && s[pos] == 'M') {
      ++pos;
      d->kind = 'M';
      if (!ParseNumber(s, &pos, 2, &d->month) || d->month < 1 || d->month > 12 || pos >= s.size() ||
          s[pos++] != '.' || !ParseNumber(s, &pos, 1, &d->week) || d->week < 1 || d->week > 5 ||
          pos >= s.size() || s[pos++] != '.' || !ParseNumber(s, &pos, 1, &d->weekday) ||
          d->weekday > 6) {
        return Status::Invalid("bad Mm.w.d rule");
      }
    } else if (pos < s.size() && s[pos] == 'J') {
      ++pos;
      d->kind = 'J';
      if (!ParseNumber(s, &pos, 3, &d->day) || d->day < 1 || d->day > 365) {
        return Status::Invalid("bad Jn rule");
      }
    } else {
      d->kind = 'D';
      if (!ParseNumber(s, &pos, 3, &d->day) || d->day > 365) return Status::Invalid("bad n rule");
    }
    d->time = 7200;
    if (pos < s.size() && s[pos] == '/') {
      ++pos;
      if (!ParseHms(s, &pos, &d->time)) return Status::Invalid("bad rule time");
    }
  }
  if (pos != s.size()) return Status::Invalid("trailing characters");
  return Status::Ok();
}

int32_t TimeZone::RuleOffsetAt(int64_t t) const {
  if (!rule_.has_dst) return rule_.std_offset;
  const int64_t year = CivilFromDays(FloorDiv(t + rule_.std_offset, kSecondsPerDay)).year;
  const RuleDate& s = rule_.start;
  const RuleDate& e = rule_.end;
  // The start time is on the standard clock, the end time on the daylight clock.
  const int64_t start =
      RuleLocalSeconds(s.kind, s.month, s.week, s.weekday, s.day, s.time, year) - rule_.std_offset;
  const int64_t end =
      RuleLocalSeconds(e.kind, e.month, e.week, e.weekday, e.day, e.time, year) - rule_.dst_offset;
  const bool dst = start < end ? (t >= start && t < end) : (t < end || t >= start);
  return dst ? rule_.dst_offset : rule_.std_offset;
}

int32_t TimeZone::OffsetAt(int64_t t) const {
  if (transitions_.empty() || t < transitions_.front()) {
    if (transitions_.empty() && rule_.present) return RuleOffsetAt(t);
    return types_[0].utoff;
  }
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  const size_t i = static_cast<size_t>(it - transitions_.begin()) - 1;
  if (i + 1 == transitions_.size() && rule_.present) return RuleOffsetAt(t);
  return types_[type_index_[i]].utoff;
}

int64_t TimeZone::LocalToUtc(int64_t local) const {
  // Offsets are within ±26 h, so the instant lies within two days of the wall-clock value; look
  // at the offsets in force before and after any transition near it.
  const int32_t before = OffsetAt(local - 2 * kSecondsPerDay);
  const int32_t after = OffsetAt(local + 2 * kSecondsPerDay);
  const int64_t u_before = local - before;
  const int64_t u_after = local - after;
  const bool ok_before = OffsetAt(u_before) == before;
  const bool ok_after = OffsetAt(u_after) == after;
  if (ok_before && ok_after) return std::min(u_before, u_after);  // ambiguous: the earlier
  if (ok_before) return u_before;
  if (ok_after) return u_after;
  // In a gap: the wall clock skipped this time; move forward by the gap (use the old offset).
  return u_before;
}

namespace {

bool Digits(std::string_view s, size_t* pos, int n, int* out) {
  if (*pos + static_cast<size_t>(n) > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[*pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += static_cast<size_t>(n);
  *out = v;
  return true;
}

bool Lit(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

Result<ImportTime> ParseImportTime(std::string_view text, const TimeZone* tz) {
  const auto bad = [&] {
    return Status::Invalid(
        "not a date-time like 2011-06-01 10:00:00 or 2011-06-01T10:00:00+01:00: \"" +
        std::string(text.substr(0, 40)) + "\"");
  };
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!Digits(text, &pos, 4, &year) || !Lit(text, &pos, '-') || !Digits(text, &pos, 2, &month) ||
      !Lit(text, &pos, '-') || !Digits(text, &pos, 2, &day)) {
    return bad();
  }
  if (pos >= text.size() || (text[pos] != ' ' && text[pos] != 'T' && text[pos] != 't'))
    return bad();
  ++pos;
  if (!Digits(text, &pos, 2, &hour) || !Lit(text, &pos, ':') || !Digits(text, &pos, 2, &minute)) {
    return bad();
  }
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    if (!Digits(text, &pos, 2, &second)) return bad();
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      int n = 0;
      for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++n) {
        if (n < 3) millis = millis * 10 + (text[pos] - '0');
      }
      if (n == 0) return bad();
      for (; n < 3; ++n) millis *= 10;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return Status::Invalid("not a valid date and time of day: \"" +
                           std::string(text.substr(0, 40)) + "\"");
  }
  const int64_t local =
      DaysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 + minute * 60 + second;
  int64_t utc = 0;
  int32_t offset = 0;
  if (pos == text.size()) {
    if (tz == nullptr) {
      return Status::Invalid(
          "has no UTC offset (like +01:00 or Z) and no --timezone was given: \"" +
          std::string(text.substr(0, 40)) + "\"");
    }
    utc = tz->LocalToUtc(local);
    offset = tz->OffsetAt(utc);
  } else if (text[pos] == 'Z' || text[pos] == 'z') {
    if (++pos != text.size()) return bad();
    utc = local;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!Digits(text, &pos, 2, &oh) || !Lit(text, &pos, ':') || !Digits(text, &pos, 2, &om) ||
        pos != text.size() || oh > 23 || om > 59) {
      return bad();
    }
    offset = sign * (oh * 3600 + om * 60);
    utc = local - offset;
  } else {
    return bad();
  }

  ImportTime out;
  out.utc_ms = utc * 1000 + millis;
  // Historical local mean time offsets have seconds, which RFC 3339 cannot express: say UTC.
  if (offset % 60 != 0) offset = 0;
  // The wall clock at that instant (differs from the input only inside a DST gap).
  const int64_t wall = utc + offset;
  const int64_t days = FloorDiv(wall, kSecondsPerDay);
  const int64_t secs = wall - days * kSecondsPerDay;
  const CivilDate date = CivilFromDays(days);
  // The hub's event schema takes years 1970..9999 only (shared/event/time.cpp): a row outside
  // them is a bad row here, not an event the hub would refuse.
  if (date.year < 1970 || date.year > 9999) {
    return Status::Invalid("has a year outside 1970..9999: \"" + std::string(text.substr(0, 40)) +
                           "\"");
  }
  std::string& s = out.rfc3339;
  s.reserve(29);
  AppendZeroPadded(&s, date.year, 4);
  s.push_back('-');
  AppendZeroPadded(&s, date.month, 2);
  s.push_back('-');
  AppendZeroPadded(&s, date.day, 2);
  s.push_back('T');
  AppendZeroPadded(&s, secs / 3600, 2);
  s.push_back(':');
  AppendZeroPadded(&s, secs / 60 % 60, 2);
  s.push_back(':');
  AppendZeroPadded(&s, secs % 60, 2);
  if (millis != 0) {
    s.push_back('.');
    AppendZeroPadded(&s, millis, 3);
  }
  if (offset == 0) {
    s.push_back('Z');
  } else {
    const int32_t a = offset < 0 ? -offset : offset;
    s.push_back(offset < 0 ? '-' : '+');
    AppendZeroPadded(&s, a / 3600, 2);
    s.push_back(':');
    AppendZeroPadded(&s, a / 60 % 60, 2);
  }
  return out;
}

}  // namespace cjd::import
