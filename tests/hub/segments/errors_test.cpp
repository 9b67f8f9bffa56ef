// Errors name the 1-based character position and what was expected; limits are enforced.
#include <gtest/gtest.h>

#include "hub/segments/rule.h"

namespace cjd::hub::segments {
namespace {

std::string ErrorOf(std::string_view text) {
  Result<Rule> r = ParseRule(text);
  if (r.ok()) return "parsed: " + r->ToString();
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(r.status().field(), "rule");
  return r.status().message();
}

TEST(SegmentErrors, NameThePositionAndWhatWasExpected) {
  const std::pair<const char*, const char*> cases[] = {
      {"orders > 1 and orders >=",
       "at 25: expected a value after \">=\", got end of rule"},
      {"", "at 1: expected a condition, got end of rule"},
      {"   ", "at 4: expected a condition, got end of rule"},
      {"orders", "at 7: expected an operator after orders (= != < <= > >= in, not in, contains, "
                 "is null), got end of rule"},
      {"ordrs > 1", "at 1: unknown field \"ordrs\""},
      {"orders > 1 and Orders > 2",
       "at 16: unknown field \"Orders\" (field names are lower case)"},
      {"attributes. = 1",
       "at 1: unknown field \"attributes.\" (expected attributes.NAME, NAME of [a-z0-9_])"},
      {"(orders > 1", "at 12: expected \")\" to close \"(\" at 1, got end of rule"},
      {"orders > 1)", "at 11: expected \"and\", \"or\" or end of rule, got \")\""},
      {"orders > 1 and", "at 15: expected a condition after \"and\", got end of rule"},
      {"orders > 1 or or events = 1", "at 15: expected a condition after \"or\", got \"or\""},
      {"orders = 1 events = 2", "at 12: expected \"and\", \"or\" or end of rule, got \"events\""},
      {"not", "at 4: expected a condition after \"not\", got end of rule"},
      {"orders == 1", "at 9: expected a value after \"=\", got \"=\""},
      {"orders = null",
       "at 10: expected a value after \"=\", got \"null\" (use \"is null\" or \"is not null\")"},
      {"orders is 5", "at 11: expected \"null\" after \"is\", got 5"},
      {"orders is not nil", "at 15: expected \"null\" after \"is not\", got \"nil\""},
      {"orders in ()", "at 12: expected a value after \"(\", got \")\""},
      {"orders in (1, 2", "at 16: expected \",\" or \")\" in the list, got end of rule"},
      {"orders in 1", "at 11: expected \"(\" after \"in\", got 1"},
      {"orders not 1", "at 8: expected an operator after orders (= != < <= > >= in, not in, "
                       "contains, is null), got \"not\""},
      {"favourite_store = \"abc", "at 19: unterminated string (expected a closing \")"},
      {"favourite_store = \"a\\nb\"", "at 21: unknown escape in string (only \\\" and \\\\)"},
      {"orders @ 1", "at 8: unexpected character \"@\""},
      {"orders ! 1", "at 8: unexpected character \"!\" (expected \"!=\")"},
      {"orders > 1.2.3", "at 10: malformed number (expected digits with an optional decimal "
                         "point, like 12 or -3.50)"},
      {"orders > 12abc", "at 10: malformed number (expected digits with an optional decimal "
                         "point, like 12 or -3.50)"},
      {"orders > 1234567890123456789",
       "at 10: number out of range (at most 18 digits, 9 of them decimals): 1234567890123456789"},
      {"orders > \"2\"", "at 10: orders is a number: expected a number, got string \"2\""},
      {"favourite_store = 5", "at 19: favourite_store is a string: expected a string, got 5"},
      {"channels = \"web\"",
       "at 10: channels is a list: use contains, is null or is not null, not \"=\""},
      {"orders contains \"1\"", "at 8: orders is a number: contains needs a list or a string field"},
      {"channels contains 5", "at 19: expected a string after \"contains\", got 5"},
      {"consent > true", "at 9: consent is true/false: only = and != compare it"},
      {"consent = \"yes\"", "at 11: consent is true/false: expected true or false, got string \"yes\""},
      {"attributes.vip < false", "at 18: only = and != compare true/false, got \"false\""},
      {"first_seen > \"yesterday\"",
       "at 14: first_seen is a time: expected an RFC 3339 time like \"2024-05-01T00:00:00Z\", got "
       "string \"yesterday\""},
  };
  for (const auto& [rule, message] : cases) {
    EXPECT_EQ(ErrorOf(rule), message) << rule;
  }
}

TEST(SegmentErrors, CountPositionsInCharactersNotBytes) {
  // "é" is two bytes in UTF-8 but one character.
  EXPECT_EQ(ErrorOf("favourite_store = \"café\" and"),
            "at 29: expected a condition after \"and\", got end of rule");
  EXPECT_EQ(ErrorOf("favourite_store = \"café\" § 1"), "at 26: unexpected character \"§\"");
}

TEST(SegmentErrors, RefuseRulesOverTheLengthLimit) {
  std::string rule = "favourite_store = \"" + std::string(kMaxRuleBytes, 'a') + "\"";
  EXPECT_EQ(ErrorOf(rule), "at 4097: rule is longer than 4096 bytes");
  std::string fits = "favourite_store = \"" + std::string(kMaxRuleBytes - 20, 'a') + "\"";
  ASSERT_EQ(fits.size(), kMaxRuleBytes);
  EXPECT_TRUE(ParseRule(fits).ok());
}

TEST(SegmentErrors, RefuseNestingDeeperThan32) {
  auto nested = [](int parens, int nots) {
    return std::string(static_cast<size_t>(parens), '(') + [&] {
      std::string s;
      for (int i = 0; i < nots; ++i) s += "not ";
      return s;
    }() + "orders = 1" + std::string(static_cast<size_t>(parens), ')');
  };
  EXPECT_TRUE(ParseRule(nested(32, 0)).ok());
  EXPECT_TRUE(ParseRule(nested(16, 16)).ok());
  EXPECT_EQ(ErrorOf(nested(33, 0)),
            "at 33: nested deeper than 32 levels of parentheses and \"not\"");
  EXPECT_EQ(ErrorOf(nested(0, 33)),
            "at 129: nested deeper than 32 levels of parentheses and \"not\"");
  // Depth is nesting, not a count: many groups side by side are fine.
  std::string flat = "(orders = 1)";
  for (int i = 0; i < 40; ++i) flat += " or (orders = 1)";
  EXPECT_TRUE(ParseRule(flat).ok());
  // Deep input never recurses without bound.
  EXPECT_FALSE(ParseRule(std::string(4000, '(')).ok());
  std::string nots;
  for (int i = 0; i < 1000; ++i) nots += "not ";
  EXPECT_FALSE(ParseRule(nots + "orders = 1").ok());
}

TEST(SegmentErrors, RefuseMoreThan256Conditions) {
  auto chain = [](int n) {
    std::string s = "orders = 1";
    for (int i = 1; i < n; ++i) s += " or orders = 1";
    return s;
  };
  EXPECT_TRUE(ParseRule(chain(256)).ok());
  // 10 + 255 * 14 + 4 bytes precede the 257th condition.
  EXPECT_EQ(ErrorOf(chain(257)), "at 3585: more than 256 conditions");
}

}  // namespace
}  // namespace cjd::hub::segments
