#include "hub/projection/money.h"

#include <gtest/gtest.h>

namespace cjd::hub {
namespace {

TEST(Money, ProductsAreExact) {
  EXPECT_EQ(Money::Product(3, *Decimal::Parse("0.1")).ToExact(), "0.3");
  EXPECT_EQ(Money::Product(-2, *Decimal::Parse("2.55")).ToExact(), "-5.1");
  EXPECT_EQ(Money::Product(1000000, *Decimal::Parse("1000000000000")).ToExact(),
            "1000000000000000000");
  EXPECT_EQ(Money::Product(1, *Decimal::Parse("0.000000001")).ToExact(), "0.000000001");
}

TEST(Money, ParsesItsOwnTextAndRefusesJunk) {
  for (const char* s : {"0", "12.5", "-3.000000001", "99999999999999999999.123456789"}) {
    auto m = Money::Parse(s);
    ASSERT_TRUE(m.has_value()) << s;
    EXPECT_EQ(m->ToExact(), s);
  }
  for (const char* s : {"", "-", "1.0000000001", "1e3", "12,5", "1.2.3", "abc"}) {
    EXPECT_FALSE(Money::Parse(s).has_value()) << s;
  }
}

TEST(Money, RoundsHalfToEvenToTwoDecimals) {
  EXPECT_EQ(Money::Parse("0.125")->ToFixed(2), "0.12");
  EXPECT_EQ(Money::Parse("0.135")->ToFixed(2), "0.14");
  EXPECT_EQ(Money::Parse("0.1251")->ToFixed(2), "0.13");
  EXPECT_EQ(Money::Parse("-0.125")->ToFixed(2), "-0.12");
  EXPECT_EQ(Money::Parse("-0.135")->ToFixed(2), "-0.14");
  EXPECT_EQ(Money::Parse("7")->ToFixed(2), "7.00");
  EXPECT_EQ(Money::Parse("-0.001")->ToFixed(2), "0.00");
}

TEST(Money, DividesWithHalfEvenRounding) {
  EXPECT_EQ(Money::Parse("10")->DivideToFixed(4), "2.50");
  EXPECT_EQ(Money::Parse("0.25")->DivideToFixed(2), "0.12");  // 0.125 -> 0.12
  EXPECT_EQ(Money::Parse("0.35")->DivideToFixed(2), "0.18");  // 0.175 -> 0.18
  EXPECT_EQ(Money::Parse("100")->DivideToFixed(3), "33.33");
  EXPECT_EQ(Money::Parse("-100")->DivideToFixed(3), "-33.33");
}

}  // namespace
}  // namespace cjd::hub
