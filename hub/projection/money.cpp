#include "hub/projection/money.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>

namespace cjd::hub {
namespace {

constexpr Int128 Pow10(int n) {
  Int128 p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

std::string FormatUnits(Int128 v, int decimals) {
  const bool negative = v < 0;
  __extension__ unsigned __int128 u =
      negative ? static_cast<unsigned __int128>(-(v + 1)) + 1 : static_cast<unsigned __int128>(v);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u != 0);
  while (static_cast<int>(digits.size()) <= decimals) digits.push_back('0');
  std::reverse(digits.begin(), digits.end());
  std::string out;
  if (negative) out.push_back('-');
  out.append(digits, 0, digits.size() - static_cast<size_t>(decimals));
  if (decimals > 0) {
    out.push_back('.');
    out.append(digits, digits.size() - static_cast<size_t>(decimals), std::string::npos);
  }
  return out;
}

// num / den rounded half to even; den > 0.
Int128 DivHalfEven(Int128 num, Int128 den) {
  Int128 q = num / den;
  Int128 r = num % den;
  if (r < 0) r = -r;
  const Int128 twice = 2 * r;
  if (twice > den || (twice == den && (q % 2 != 0))) q += num < 0 ? -1 : 1;
  return q;
}

}  // namespace

Money Money::Product(int64_t quantity, const Decimal& price) {
  Int128 units = static_cast<Int128>(price.mantissa());
  const int scale = price.scale();
  if (scale <= kScale) {
    units *= Pow10(kScale - scale);
  } else {
    units /= Pow10(scale - kScale);  // cannot happen for validated prices (<= 9 decimals)
  }
  return FromUnits(units * quantity);
}

std::optional<Money> Money::Parse(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  Int128 v = 0;
  int digits = 0, decimals = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    if (dot && ++decimals > kScale) return std::nullopt;
    if (++digits > 36) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (digits == 0) return std::nullopt;
  v *= Pow10(kScale - decimals);
  return FromUnits(negative ? -v : v);
}

std::string Money::ToExact() const {
  std::string s = FormatUnits(units_, kScale);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string Money::ToFixed(int decimals) const {
  decimals = std::clamp(decimals, 0, kScale);
  return FormatUnits(DivHalfEven(units_, Pow10(kScale - decimals)), decimals);
}

std::string Money::DivideToFixed(int64_t n, int decimals) const {
  if (n <= 0) return ToFixed(decimals);
  decimals = std::clamp(decimals, 0, kScale);
  return FormatUnits(DivHalfEven(units_, Pow10(kScale - decimals) * n), decimals);
}

namespace {

// SQLite's aggregate context is only 8-byte aligned: the 128-bit sum is kept as bytes and copied
// in and out (an Int128 member would need 16-byte alignment).
struct SumState {
  unsigned char units[sizeof(Int128)];
  bool bad;
};

Int128 LoadUnits(const SumState& st) {
  Int128 v;
  std::memcpy(&v, st.units, sizeof v);
  return v;
}

void StoreUnits(SumState* st, Int128 v) { std::memcpy(st->units, &v, sizeof v); }

void SumStep(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto* st = static_cast<SumState*>(sqlite3_aggregate_context(ctx, sizeof(SumState)));
  if (st == nullptr) return sqlite3_result_error_nomem(ctx);
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const int n = sqlite3_value_bytes(argv[0]);
  std::optional<Money> m = Money::Parse(std::string_view(text ? text : "", static_cast<size_t>(n)));
  if (!m) {
    st->bad = true;
    return;
  }
  StoreUnits(st, LoadUnits(*st) + m->units());
}

void SumFinal(sqlite3_context* ctx) {
  auto* st = static_cast<SumState*>(sqlite3_aggregate_context(ctx, 0));
  if (st != nullptr && st->bad) return sqlite3_result_error(ctx, "money_sum: malformed amount", -1);
  const std::string s = Money::FromUnits(st ? LoadUnits(*st) : 0).ToExact();
  sqlite3_result_text(ctx, s.c_str(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

}  // namespace

Status RegisterMoneyFunctions(sqlite3* db) {
  const int rc = sqlite3_create_function_v2(db, "money_sum", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                            nullptr, nullptr, SumStep, SumFinal, nullptr);
  if (rc != SQLITE_OK) return Status::Internal(std::string("money_sum: ") + sqlite3_errstr(rc));
  return Status::Ok();
}

}  // namespace cjd::hub
