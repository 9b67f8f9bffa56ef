#include <gtest/gtest.h>

#include "shared/event/event.h"

namespace cjd {
namespace {

TEST(Currency, KnowsCommonCodesAndTheirMinorUnits) {
  int minor = -1;
  EXPECT_TRUE(IsCurrencyCode("EUR", &minor));
  EXPECT_EQ(minor, 2);
  EXPECT_TRUE(IsCurrencyCode("JPY", &minor));
  EXPECT_EQ(minor, 0);
  EXPECT_TRUE(IsCurrencyCode("KWD", &minor));
  EXPECT_EQ(minor, 3);
  EXPECT_TRUE(IsCurrencyCode("CLF", &minor));
  EXPECT_EQ(minor, 4);
  EXPECT_TRUE(IsCurrencyCode("USD"));
  EXPECT_TRUE(IsCurrencyCode("GBP"));
  EXPECT_TRUE(IsCurrencyCode("CHF"));
}

TEST(Currency, KnowsTheFirstAndLastCodesOfTheList) {
  EXPECT_TRUE(IsCurrencyCode("AED"));
  EXPECT_TRUE(IsCurrencyCode("ZWL"));
  EXPECT_TRUE(IsCurrencyCode("ZWG"));
}

TEST(Currency, RejectsLowerCaseUnknownAndWithdrawnCodes) {
  int minor = -1;
  EXPECT_FALSE(IsCurrencyCode("eur", &minor));
  EXPECT_EQ(minor, -1);  // untouched
  EXPECT_FALSE(IsCurrencyCode("Eur"));
  EXPECT_FALSE(IsCurrencyCode("EURO"));
  EXPECT_FALSE(IsCurrencyCode("EU"));
  EXPECT_FALSE(IsCurrencyCode(""));
  EXPECT_FALSE(IsCurrencyCode("ABC"));
  EXPECT_FALSE(IsCurrencyCode("DEM"));  // Deutsche Mark, replaced by EUR
  EXPECT_FALSE(IsCurrencyCode("HRK"));  // Croatian kuna, replaced by EUR in 2023
  EXPECT_FALSE(IsCurrencyCode("XAU"));  // gold: not money at a till
  EXPECT_FALSE(IsCurrencyCode("XXX"));
  EXPECT_FALSE(IsCurrencyCode(std::string_view("EU\0", 3)));
}

}  // namespace
}  // namespace cjd
