// Decimal: exact money. A signed 64-bit mantissa and a decimal scale (digits after the point),
// parsed from text and printed to text; never converted through binary floating point.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shared/core/status.h"

namespace cjd {

// 128-bit integer for exact sums (a GCC/Clang extension; __extension__ silences -Wpedantic).
__extension__ using Int128 = __int128;

class Decimal {
 public:
  static constexpr int kMaxScale = 9;

  Decimal() = default;
  Decimal(int64_t mantissa, int scale) : mantissa_(mantissa), scale_(scale) {}

  // Parses "12", "-3.50", "0.001", "+1.2" (no exponent, no spaces, at most kMaxScale decimals
  // and 18 significant digits). Trailing zeros are kept: "1.50" has scale 2.
  static Result<Decimal> Parse(std::string_view text);

  int64_t mantissa() const { return mantissa_; }
  int scale() const { return scale_; }
  bool is_negative() const { return mantissa_ < 0; }
  bool is_zero() const { return mantissa_ == 0; }

  // Canonical text: "-3.50" keeps its scale; "12" for scale 0.
  std::string ToString() const;

  // The value as a mantissa at `scale` (>= scale()), exact. Fails on overflow.
  Result<int64_t> MantissaAt(int scale) const;

  // Rounds to `scale` decimals, half to even (banker's rounding).
  Decimal RoundHalfEven(int scale) const;

  // Exact comparison across scales.
  friend bool operator==(const Decimal& a, const Decimal& b) { return Compare(a, b) == 0; }
  friend bool operator<(const Decimal& a, const Decimal& b) { return Compare(a, b) < 0; }
  static int Compare(const Decimal& a, const Decimal& b);

 private:
  int64_t mantissa_ = 0;
  int scale_ = 0;
};

// A money sum wide enough for chain-wide totals: a 128-bit mantissa at a fixed scale.
class DecimalSum {
 public:
  explicit DecimalSum(int scale = 6) : scale_(scale) {}
  // Adds quantity × unit price exactly. Fails if the price has more decimals than the sum keeps.
  Status AddProduct(int64_t quantity, const Decimal& price);
  Status Add(const Decimal& value);
  int scale() const { return scale_; }
  Int128 mantissa() const { return mantissa_; }
  // Rounded half to even to `decimals` places, as text ("1234.50").
  std::string ToString(int decimals) const;

 private:
  Int128 mantissa_ = 0;
  int scale_;
};

}  // namespace cjd
