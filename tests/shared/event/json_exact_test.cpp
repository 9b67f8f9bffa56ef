#include "shared/event/json_exact.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "shared/event/decimal.h"

namespace cjd {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

nlohmann::json Parse(const std::string& text) {
  Result<nlohmann::json> j = ParseJsonExact(text);
  EXPECT_TRUE(j.ok()) << text << ": " << j.status().ToString();
  return j.ok() ? *j : nlohmann::json();
}

TEST(JsonExact, KeepsFractionalNumbersAsTheirOriginalText) {
  const nlohmann::json j = Parse(R"({"price": 12.10})");
  const nlohmann::json& price = j["price"];
  EXPECT_TRUE(IsJsonNumber(price));
  EXPECT_EQ(JsonNumberText(price), "12.10");
  Result<Decimal> d = Decimal::Parse(JsonNumberText(price));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->scale(), 2);
  EXPECT_EQ(d->ToString(), "12.10");
}

TEST(JsonExact, KeepsNumbersThatBinaryFloatingPointCannotHold) {
  const nlohmann::json j = Parse(R"([0.1, 0.30000000000000004, 1e2, -0.0, 1E-7])");
  EXPECT_EQ(JsonNumberText(j[0]), "0.1");
  EXPECT_EQ(JsonNumberText(j[1]), "0.30000000000000004");
  EXPECT_EQ(JsonNumberText(j[2]), "1e2");
  EXPECT_EQ(JsonNumberText(j[3]), "-0.0");
  EXPECT_EQ(JsonNumberText(j[4]), "1E-7");
}

TEST(JsonExact, KeepsIntegersAsIntegers) {
  const nlohmann::json j = Parse(R"({"q": 3, "n": -7, "big": 18446744073709551615})");
  EXPECT_TRUE(j["q"].is_number_integer());
  EXPECT_EQ(j["q"].get<int64_t>(), 3);
  EXPECT_EQ(j["n"].get<int64_t>(), -7);
  EXPECT_TRUE(j["big"].is_number_unsigned());
  EXPECT_EQ(JsonNumberText(j["q"]), "3");
  EXPECT_EQ(JsonNumberText(j["n"]), "-7");
}

TEST(JsonExact, KeepsIntegersBeyondSixtyFourBitsAsRawText) {
  const nlohmann::json j = Parse(R"([123456789012345678901234567890, -9223372036854775809])");
  EXPECT_TRUE(j[0].is_string());
  EXPECT_TRUE(IsJsonNumber(j[0]));
  EXPECT_EQ(JsonNumberText(j[0]), "123456789012345678901234567890");
  EXPECT_EQ(JsonNumberText(j[1]), "-9223372036854775809");
}

TEST(JsonExact, RawNumbersCarryTheMarkAndReportTypeNumber) {
  const nlohmann::json j = Parse("[1.5]");
  ASSERT_TRUE(j[0].is_string());
  EXPECT_EQ(j[0].get<std::string>(), std::string(1, kRawNumberMark) + "1.5");
  EXPECT_STREQ(JsonTypeName(j[0]), "number");
}

TEST(JsonExact, NamesJsonTypes) {
  const nlohmann::json j = Parse(R"({"s":"x","i":1,"o":{},"a":[],"b":true,"n":null})");
  EXPECT_STREQ(JsonTypeName(j["s"]), "string");
  EXPECT_STREQ(JsonTypeName(j["i"]), "number");
  EXPECT_STREQ(JsonTypeName(j["o"]), "object");
  EXPECT_STREQ(JsonTypeName(j["a"]), "array");
  EXPECT_STREQ(JsonTypeName(j["b"]), "boolean");
  EXPECT_STREQ(JsonTypeName(j["n"]), "null");
  EXPECT_FALSE(IsJsonNumber(j["s"]));
  EXPECT_FALSE(IsJsonNumber(j["b"]));
  EXPECT_TRUE(IsJsonNumber(j["i"]));
}

TEST(JsonExact, OrdinaryStringsStayStrings) {
  const nlohmann::json j = Parse(R"({"price": "12.10", "text": "caf\u00e9 \"q\""})");
  EXPECT_FALSE(IsJsonNumber(j["price"]));
  EXPECT_EQ(j["price"].get<std::string>(), "12.10");
  EXPECT_EQ(j["text"].get<std::string>(), "caf\xc3\xa9 \"q\"");
}

TEST(JsonExact, BuildsNestedStructures) {
  const nlohmann::json j = Parse(R"({"a":[{"b":[1,2.5,{"c":null}]},[],{}],"d":{"e":{"f":"g"}}})");
  EXPECT_EQ(j["a"].size(), 3u);
  EXPECT_EQ(j["a"][0]["b"][0].get<int>(), 1);
  EXPECT_EQ(JsonNumberText(j["a"][0]["b"][1]), "2.5");
  EXPECT_TRUE(j["a"][0]["b"][2]["c"].is_null());
  EXPECT_TRUE(j["a"][1].is_array());
  EXPECT_TRUE(j["a"][2].is_object());
  EXPECT_EQ(j["d"]["e"]["f"].get<std::string>(), "g");
}

TEST(JsonExact, ParsesScalarDocuments) {
  EXPECT_EQ(Parse("42").get<int>(), 42);
  EXPECT_EQ(JsonNumberText(Parse("4.20")), "4.20");
  EXPECT_TRUE(Parse("null").is_null());
  EXPECT_EQ(Parse(R"("x")").get<std::string>(), "x");
}

TEST(JsonExact, SyntaxErrorNamesTheByteOffset) {
  Result<nlohmann::json> j = ParseJsonExact(R"({"store_id": tru})");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kInvalid);
  EXPECT_THAT(j.status().message(), StartsWith("invalid JSON at byte 17: "));
  EXPECT_THAT(j.status().message(), Not(HasSubstr("json.exception")));
}

TEST(JsonExact, RejectsTruncatedAndTrailingInput) {
  for (const char* text : {"", "{", R"({"a":1)", R"({"a":1}})", R"({"a":1} x)", "[1,]", "{'a':1}",
                           R"({"a":01})", "[1.]", "[.5]", "NaN", "[1 2]"}) {
    Result<nlohmann::json> j = ParseJsonExact(text);
    EXPECT_FALSE(j.ok()) << text;
    if (!j.ok()) {
      EXPECT_THAT(j.status().message(), StartsWith("invalid JSON at byte ")) << text;
    }
  }
}

TEST(JsonExact, RejectsInvalidUtf8) {
  EXPECT_FALSE(ParseJsonExact("[\"\xff\"]").ok());
  EXPECT_FALSE(ParseJsonExact("[\"\xc3\"]").ok());
}

TEST(JsonExact, RejectsDuplicateKeysNamingThePath) {
  Result<nlohmann::json> j =
      ParseJsonExact(R"([{}, {"order": {"items": [{"sku": "a"}, {"sku": "b", "sku": "c"}]}}])");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Code::kInvalid);
  EXPECT_THAT(j.status().message(), HasSubstr("duplicate key \"sku\""));
  EXPECT_EQ(j.status().field(), "[1].order.items[1].sku");

  Result<nlohmann::json> top = ParseJsonExact(R"({"a": 1, "a": 1})");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.status().field(), "a");
}

TEST(JsonExact, RejectsStringsThatWouldMasqueradeAsRawNumbers) {
  Result<nlohmann::json> j = ParseJsonExact(R"({"unit_price": "\u00011.5"})");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().field(), "unit_price");
  Result<nlohmann::json> in_array = ParseJsonExact(R"({"a": [{"b": [1, "\u00012"]}]})");
  ASSERT_FALSE(in_array.ok());
  EXPECT_EQ(in_array.status().field(), "a[0].b[1]");
  // The same control character later in a string is left to the validators.
  EXPECT_TRUE(ParseJsonExact(R"(["a\u0001"])").ok());
}

TEST(JsonExact, RejectsPathologicalNesting) {
  const std::string deep = std::string(1000, '[') + std::string(1000, ']');
  Result<nlohmann::json> j = ParseJsonExact(deep);
  ASSERT_FALSE(j.ok());
  EXPECT_THAT(j.status().message(), HasSubstr("nesting"));
  const std::string ok = std::string(100, '[') + std::string(100, ']');
  EXPECT_TRUE(ParseJsonExact(ok).ok());
}

TEST(JsonExact, RejectsNumbersBeyondDoubleRangeAsOverflow) {
  // nlohmann refuses infinite doubles before the handler sees the text; that is an error too.
  Result<nlohmann::json> j = ParseJsonExact("[1e400]");
  ASSERT_FALSE(j.ok());
  EXPECT_THAT(j.status().message(), HasSubstr("1e400"));
}

}  // namespace
}  // namespace cjd
