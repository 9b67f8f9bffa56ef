// Decimal arithmetic on integers only: text <-> (mantissa, scale), exact comparison and
// half-to-even rounding. 128-bit intermediates keep every step exact.
#include "shared/event/decimal.h"

#include <cstdint>
#include <limits>
#include <string>

namespace cjd {
namespace {

__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

constexpr int kMaxSignificantDigits = 18;
constexpr int kMaxPow10 = 38;  // 10^38 < 2^127

// 10^n for 0 <= n <= 38.
Int128 Pow10(int n) {
  Int128 p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

UInt128 Magnitude(Int128 v) {
  return v < 0 ? UInt128(0) - static_cast<UInt128>(v) : static_cast<UInt128>(v);
}

// Decimal digits of `v`, most significant first; "0" for zero.
std::string Digits(UInt128 v) {
  char buf[48];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  } while (v != 0);
  std::string out;
  out.reserve(static_cast<size_t>(n));
  while (n > 0) out.push_back(buf[--n]);
  return out;
}

// Formats mantissa / 10^scale with exactly `scale` decimals (a negative scale appends zeros).
std::string Format(Int128 mantissa, int scale) {
  std::string digits = Digits(Magnitude(mantissa));
  std::string out;
  if (mantissa < 0) out.push_back('-');
  if (scale <= 0) {
    out += digits;
    if (mantissa != 0) out.append(static_cast<size_t>(-scale), '0');
    return out;
  }
  const size_t s = static_cast<size_t>(scale);
  if (digits.size() <= s) digits.insert(0, s - digits.size() + 1, '0');
  out.append(digits, 0, digits.size() - s);
  out.push_back('.');
  out.append(digits, digits.size() - s, s);
  return out;
}

// Divides by 10^places (places >= 1), rounding half to even.
Int128 DivRoundHalfEven(Int128 v, int places) {
  if (places > kMaxPow10) return 0;  // |v| < 2^127 < 10^39 / 2: always rounds to zero
  const Int128 divisor = Pow10(places);
  Int128 q = v / divisor;  // truncates toward zero
  const UInt128 r = Magnitude(v % divisor);
  const UInt128 half = static_cast<UInt128>(divisor) / 2;
  const bool away = r > half || (r == half && (q % 2 != 0));
  if (away) q += (v < 0 ? -1 : 1);
  return q;
}

// v * 10^places into *out, false on Int128 overflow.
bool MulPow10(Int128 v, int places, Int128* out) {
  Int128 r = v;
  for (int i = 0; i < places; ++i) {
    if (r == 0) break;
    if (__builtin_mul_overflow(r, Int128(10), &r)) return false;
  }
  *out = r;
  return true;
}

}  // namespace

Result<Decimal> Decimal::Parse(std::string_view text) {
  if (text.empty()) return Status::Invalid("empty decimal");
  size_t i = 0;
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    i = 1;
  }
  const auto bad = [&] {
    return Status::Invalid("not a decimal number like 12.50: \"" + std::string(text.substr(0, 40)) +
                           "\"");
  };
  int64_t mantissa = 0;
  int significant = 0;
  int scale = 0;
  bool seen_point = false;
  int digits_before = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (seen_point || digits_before == 0) return bad();
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') return bad();
    if (seen_point) {
      if (++scale > kMaxScale) {
        return Status::Invalid("more than " + std::to_string(kMaxScale) + " decimals");
      }
    } else {
      ++digits_before;
    }
    if (mantissa == 0 && c == '0') continue;  // leading zeros are not significant
    if (++significant > kMaxSignificantDigits) {
      return Status::Invalid("more than " + std::to_string(kMaxSignificantDigits) +
                             " significant digits");
    }
    mantissa = mantissa * 10 + (c - '0');  // < 10^18: cannot overflow
  }
  if (digits_before == 0) return bad();
  if (seen_point && scale == 0) return bad();  // "1."
  return Decimal(negative ? -mantissa : mantissa, scale);
}

std::string Decimal::ToString() const { return Format(mantissa_, scale_); }

Result<int64_t> Decimal::MantissaAt(int scale) const {
  Int128 v = mantissa_;
  if (scale < scale_) {
    // Only exact when the dropped digits are zeros.
    const int drop = scale_ - scale;
    if (drop > kMaxPow10 || v % Pow10(drop) != 0) {
      if (v != 0) {
        return Status::Invalid(ToString() + " cannot be represented exactly with " +
                               std::to_string(scale) + " decimals");
      }
      return int64_t{0};
    }
    v /= Pow10(drop);
  } else if (!MulPow10(v, scale - scale_, &v)) {
    return Status::Invalid(ToString() + " overflows at scale " + std::to_string(scale));
  }
  if (v > std::numeric_limits<int64_t>::max() || v < std::numeric_limits<int64_t>::min()) {
    return Status::Invalid(ToString() + " overflows at scale " + std::to_string(scale));
  }
  return static_cast<int64_t>(v);
}

Decimal Decimal::RoundHalfEven(int scale) const {
  if (scale >= scale_) {
    Result<int64_t> m = MantissaAt(scale);
    return m.ok() ? Decimal(*m, scale) : *this;  // same value either way
  }
  // |mantissa| < 2^63, so the rounded quotient always fits back into 64 bits.
  return Decimal(static_cast<int64_t>(DivRoundHalfEven(mantissa_, scale_ - scale)), scale);
}

int Decimal::Compare(const Decimal& a, const Decimal& b) {
  const int sign_a = (a.mantissa_ > 0) - (a.mantissa_ < 0);
  const int sign_b = (b.mantissa_ > 0) - (b.mantissa_ < 0);
  if (sign_a != sign_b) return sign_a < sign_b ? -1 : 1;
  if (sign_a == 0) return 0;
  // Same non-zero sign: bring both to the larger scale. |mantissa| < 10^19, so a scale gap of
  // 19 or more decides on magnitude alone.
  Int128 x = a.mantissa_;
  Int128 y = b.mantissa_;
  const int gap = a.scale_ - b.scale_;
  if (gap >= 19) return -sign_a;  // b scaled up is larger in magnitude
  if (gap <= -19) return sign_a;
  if (gap > 0) y *= Pow10(gap);
  if (gap < 0) x *= Pow10(-gap);
  return (x > y) - (x < y);
}

Status DecimalSum::AddProduct(int64_t quantity, const Decimal& price) {
  Int128 p = price.mantissa();
  const int gap = scale_ - price.scale();
  if (gap < 0) {
    if (-gap > kMaxPow10 || p % Pow10(-gap) != 0) {
      return Status::Invalid("price " + price.ToString() + " has more than " +
                             std::to_string(scale_) + " decimals");
    }
    p /= Pow10(-gap);
  } else if (!MulPow10(p, gap, &p)) {
    return Status::Invalid("price " + price.ToString() + " overflows the sum");
  }
  Int128 product;
  Int128 sum;
  if (__builtin_mul_overflow(p, Int128(quantity), &product) ||
      __builtin_add_overflow(mantissa_, product, &sum)) {
    return Status::Invalid("money sum overflow");
  }
  mantissa_ = sum;
  return Status::Ok();
}

Status DecimalSum::Add(const Decimal& value) { return AddProduct(1, value); }

std::string DecimalSum::ToString(int decimals) const {
  if (decimals < 0) decimals = 0;
  if (decimals >= scale_) {
    // Exact: print at the sum's scale, then pad with zeros.
    std::string s = Format(mantissa_, scale_);
    const int pad = decimals - (scale_ > 0 ? scale_ : 0);
    if (pad > 0) {
      if (scale_ <= 0) s.push_back('.');
      s.append(static_cast<size_t>(pad), '0');
    }
    return s;
  }
  const Int128 rounded = DivRoundHalfEven(mantissa_, scale_ - decimals);
  return Format(rounded, decimals);
}

}  // namespace cjd
