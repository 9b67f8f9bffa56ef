#include "shared/event/decimal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace cjd {
namespace {

using ::testing::HasSubstr;

Decimal D(const std::string& text) {
  Result<Decimal> d = Decimal::Parse(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status().ToString();
  return d.ok() ? *d : Decimal();
}

TEST(Decimal, ParsesIntegersAndFractionsExactly) {
  EXPECT_EQ(D("12").mantissa(), 12);
  EXPECT_EQ(D("12").scale(), 0);
  EXPECT_EQ(D("-3.50").mantissa(), -350);
  EXPECT_EQ(D("-3.50").scale(), 2);
  EXPECT_EQ(D("0.001").mantissa(), 1);
  EXPECT_EQ(D("0.001").scale(), 3);
  EXPECT_EQ(D("+1.2").mantissa(), 12);
  EXPECT_EQ(D("0.5").scale(), 1);
}

TEST(Decimal, KeepsTrailingZerosAsScale) {
  const Decimal d = D("1.50");
  EXPECT_EQ(d.scale(), 2);
  EXPECT_EQ(d.ToString(), "1.50");
  EXPECT_EQ(D("12.10").ToString(), "12.10");
}

TEST(Decimal, ParsesPriceWithMoreDecimalsThanMinorUnit) {
  const Decimal d = D("0.123456789");  // 9 decimals for a 2-decimal currency is fine
  EXPECT_EQ(d.mantissa(), 123456789);
  EXPECT_EQ(d.scale(), 9);
  EXPECT_EQ(d.ToString(), "0.123456789");
}

TEST(Decimal, AcceptsNegativeZeroAsZero) {
  const Decimal d = D("-0");
  EXPECT_TRUE(d.is_zero());
  EXPECT_FALSE(d.is_negative());
  EXPECT_EQ(d.ToString(), "0");
  EXPECT_EQ(D("-0.00").ToString(), "0.00");
}

TEST(Decimal, RejectsMalformedText) {
  for (const char* text :
       {"",   ".",  "-",   "+",   "1.",  ".5",    "-.5",  "1e5", "1E5",   "1.2e3",
        " 1", "1 ", "1,5", "--1", "+-1", "1.2.3", "0x10", "abc", "1_000", "∞"}) {
    EXPECT_FALSE(Decimal::Parse(text).ok()) << '"' << text << '"';
  }
}

TEST(Decimal, RejectsMoreThanNineDecimals) {
  Result<Decimal> d = Decimal::Parse("0.1234567891");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kInvalid);
  EXPECT_THAT(d.status().message(), HasSubstr("more than 9 decimals"));
}

TEST(Decimal, AcceptsEighteenSignificantDigitsAndRejectsNineteen) {
  EXPECT_EQ(D("999999999999999999").mantissa(), 999'999'999'999'999'999);
  EXPECT_EQ(D("123456789.123456789").mantissa(), 123'456'789'123'456'789);
  Result<Decimal> huge = Decimal::Parse("1234567890123456789");
  ASSERT_FALSE(huge.ok());
  EXPECT_THAT(huge.status().message(), HasSubstr("significant digits"));
  EXPECT_FALSE(Decimal::Parse("99999999999999999999999999999").ok());
}

TEST(Decimal, LeadingZerosAreNotSignificant) {
  EXPECT_EQ(D("0000000000000000000001.5").mantissa(), 15);
  EXPECT_EQ(D("0.000000001").mantissa(), 1);
}

TEST(Decimal, PrintsSmallFractionsWithLeadingZeros) {
  EXPECT_EQ(Decimal(5, 3).ToString(), "0.005");
  EXPECT_EQ(Decimal(-5, 3).ToString(), "-0.005");
  EXPECT_EQ(Decimal(0, 2).ToString(), "0.00");
  EXPECT_EQ(Decimal(std::numeric_limits<int64_t>::min(), 2).ToString(), "-92233720368547758.08");
}

TEST(Decimal, ComparesExactlyAcrossScales) {
  EXPECT_EQ(D("1.5"), D("1.500"));
  EXPECT_TRUE(D("1.49") < D("1.5"));
  EXPECT_TRUE(D("-1.5") < D("-1.49"));
  EXPECT_TRUE(D("-0.000000001") < D("0"));
  EXPECT_EQ(Decimal::Compare(D("0"), D("-0.000")), 0);
  EXPECT_EQ(Decimal::Compare(D("100"), D("99.999999999")), 1);
  EXPECT_EQ(Decimal::Compare(Decimal(std::numeric_limits<int64_t>::max(), 0), Decimal(1, 9)), 1);
  // A scale gap beyond what 64 bits can bridge still compares correctly.
  EXPECT_EQ(Decimal::Compare(Decimal(1, 30), Decimal(std::numeric_limits<int64_t>::max(), 0)), -1);
  EXPECT_EQ(Decimal::Compare(Decimal(-1, 30), Decimal(-1, 0)), 1);
}

TEST(Decimal, AddsTenthsWithoutBinaryFloatingPointError) {
  DecimalSum sum(2);
  ASSERT_TRUE(sum.Add(D("0.1")).ok());
  ASSERT_TRUE(sum.Add(D("0.2")).ok());
  EXPECT_EQ(sum.ToString(2), "0.30");
  EXPECT_EQ(sum.mantissa(), 30);
  DecimalSum many(9);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(many.Add(D("0.001")).ok());
  EXPECT_EQ(many.ToString(3), "1.000");
}

TEST(Decimal, MantissaAtScalesUpExactly) {
  Result<int64_t> m = D("12.1").MantissaAt(4);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, 121000);
  EXPECT_EQ(*D("7").MantissaAt(0), 7);
}

TEST(Decimal, MantissaAtFailsOnOverflow) {
  EXPECT_FALSE(D("999999999999999999").MantissaAt(9).ok());
  EXPECT_FALSE(Decimal(std::numeric_limits<int64_t>::max(), 0).MantissaAt(1).ok());
}

TEST(Decimal, MantissaAtLowerScaleOnlyWhenExact) {
  EXPECT_EQ(*D("1.500").MantissaAt(1), 15);
  EXPECT_FALSE(D("1.55").MantissaAt(1).ok());
}

TEST(Decimal, RoundsHalfToEven) {
  EXPECT_EQ(D("2.345").RoundHalfEven(2).ToString(), "2.34");
  EXPECT_EQ(D("2.355").RoundHalfEven(2).ToString(), "2.36");
  EXPECT_EQ(D("2.3451").RoundHalfEven(2).ToString(), "2.35");
  EXPECT_EQ(D("2.344").RoundHalfEven(2).ToString(), "2.34");
  EXPECT_EQ(D("0.5").RoundHalfEven(0).ToString(), "0");
  EXPECT_EQ(D("1.5").RoundHalfEven(0).ToString(), "2");
  EXPECT_EQ(D("2.5").RoundHalfEven(0).ToString(), "2");
}

TEST(Decimal, RoundsNegativeHalvesToEvenSymmetrically) {
  EXPECT_EQ(D("-2.345").RoundHalfEven(2).ToString(), "-2.34");
  EXPECT_EQ(D("-2.355").RoundHalfEven(2).ToString(), "-2.36");
  EXPECT_EQ(D("-0.5").RoundHalfEven(0).ToString(), "0");
  EXPECT_EQ(D("-0.004").RoundHalfEven(2).ToString(), "0.00");
}

TEST(Decimal, RoundingToAWiderScalePadsWithZeros) {
  const Decimal d = D("1.5").RoundHalfEven(3);
  EXPECT_EQ(d.scale(), 3);
  EXPECT_EQ(d.ToString(), "1.500");
}

TEST(DecimalSum, AddsQuantityTimesPriceExactly) {
  DecimalSum sum;  // scale 6
  ASSERT_TRUE(sum.AddProduct(3, D("19.99")).ok());
  ASSERT_TRUE(sum.AddProduct(-1, D("19.99")).ok());  // a returned item
  ASSERT_TRUE(sum.AddProduct(7, D("0.333333")).ok());
  EXPECT_EQ(sum.ToString(2), "42.31");  // 39.98 + 2.333331
  EXPECT_EQ(sum.ToString(6), "42.313331");
}

TEST(DecimalSum, RejectsPriceWithMoreDecimalsThanTheSum) {
  DecimalSum sum(2);
  Status st = sum.AddProduct(1, D("0.125"));
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kInvalid);
  EXPECT_EQ(sum.mantissa(), 0);  // unchanged
  // Trailing zeros beyond the sum's scale lose nothing and are accepted.
  EXPECT_TRUE(sum.AddProduct(1, D("0.120")).ok());
  EXPECT_EQ(sum.ToString(2), "0.12");
}

TEST(DecimalSum, HoldsChainWideTotalsBeyondSixtyFourBits) {
  DecimalSum sum(9);
  const Decimal price = D("999999999.999999999");
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(sum.AddProduct(1'000'000, price).ok());
  EXPECT_EQ(sum.ToString(9), "99999999999999999.900000000");
  EXPECT_EQ(sum.ToString(0), "100000000000000000");
}

TEST(DecimalSum, ReportsOverflowInsteadOfWrapping) {
  DecimalSum sum(30);
  const Decimal big(std::numeric_limits<int64_t>::max(), 0);
  Status st = sum.AddProduct(std::numeric_limits<int64_t>::max(), big);
  EXPECT_FALSE(st.ok());
}

TEST(DecimalSum, PrintsRoundedHalfToEven) {
  DecimalSum sum(3);
  ASSERT_TRUE(sum.Add(D("2.345")).ok());
  EXPECT_EQ(sum.ToString(2), "2.34");
  ASSERT_TRUE(sum.Add(D("0.010")).ok());  // 2.355
  EXPECT_EQ(sum.ToString(2), "2.36");
  DecimalSum neg(3);
  ASSERT_TRUE(neg.Add(D("-2.345")).ok());
  EXPECT_EQ(neg.ToString(2), "-2.34");
  EXPECT_EQ(neg.ToString(5), "-2.34500");
  DecimalSum tiny(3);
  ASSERT_TRUE(tiny.Add(D("-0.001")).ok());
  EXPECT_EQ(tiny.ToString(2), "0.00");  // no "-0.00"
}

TEST(DecimalSum, StartsAtZero) {
  DecimalSum sum;
  EXPECT_EQ(sum.scale(), 6);
  EXPECT_EQ(sum.ToString(2), "0.00");
  EXPECT_EQ(sum.ToString(0), "0");
}

}  // namespace
}  // namespace cjd
