#include "shared/event/json_exact.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

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

// ---- the fast parser against nlohmann's SAX parser ----------------------------------------------

// Equal values of equal types (nlohmann's == takes 1 and 1u, or 1 and 1.0, as equal).
bool SameTyped(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case nlohmann::json::value_t::object: {
      if (a.size() != b.size()) return false;
      for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
        if (i.key() != j.key() || !SameTyped(i.value(), j.value())) return false;
      }
      return true;
    }
    case nlohmann::json::value_t::array:
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!SameTyped(a[i], b[i])) return false;
      }
      return true;
    case nlohmann::json::value_t::number_integer: return a.get<int64_t>() == b.get<int64_t>();
    case nlohmann::json::value_t::number_unsigned: return a.get<uint64_t>() == b.get<uint64_t>();
    default: return a == b;
  }
}

// What the fast parser takes, the SAX parser takes as the same value; and ParseJsonExact answers
// what the SAX parser answers (the same value, or the same error).
bool Agree(const std::string& text, int* fast_taken) {
  nlohmann::json fast;
  const bool took = json_exact_internal::ParseFast(text, &fast);
  Result<nlohmann::json> sax = json_exact_internal::ParseSax(text);
  Result<nlohmann::json> both = ParseJsonExact(text);
  if (took) {
    ++*fast_taken;
    if (!sax.ok() || !SameTyped(fast, *sax)) return false;
  }
  if (sax.ok() != both.ok()) return false;
  if (!sax.ok()) return sax.status().ToString() == both.status().ToString();
  return SameTyped(*sax, *both);
}

class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : rng_(seed) {}

  std::string Document() {
    std::string out;
    if (Chance(40)) out += Ws();
    if (Chance(300)) out += "\xEF\xBB\xBF";
    Value(&out, 0);
    if (Chance(40)) out += Ws();
    return out;
  }

  // One random edit: a byte dropped, replaced or inserted, or the text cut short.
  std::string Mutate(std::string s) {
    if (s.empty()) return s;
    const size_t at = Pick(s.size());
    switch (Pick(4)) {
      case 0: s.erase(at, 1); break;
      case 1: s[at] = Byte(); break;
      case 2: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), Byte()); break;
      default: s.resize(at); break;
    }
    return s;
  }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(size_t one_in) { return Pick(one_in) == 0; }
  char Byte() {
    static const std::string kInteresting = "{}[]\":,\\ -+.eE0123456789tfnul\x01\x1f\x7f";
    if (Chance(2)) return kInteresting[Pick(kInteresting.size())];
    return static_cast<char>(Pick(256));
  }
  std::string Ws() {
    static const char* kWs[] = {" ", "\n", "\t", "\r", "  \n "};
    return kWs[Pick(5)];
  }
  template <size_t N>
  const char* From(const char* const (&list)[N]) {
    return list[Pick(N)];
  }

  void String(std::string* out) {
    static const char* const kParts[] = {
        "a", "Z", "store-042", " ", "/", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
        "\\u00e9", "\\u0001", "\\ud83d\\ude00", "\\udc00", "\\ud83d", "\\x", "\xc3\xa9",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\x9f\xbf", "\xed\xa0\x80", "\xc0\xaf", "\xc3",
        "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", "\x7f",
        "\x01", "\x1f", "\xef\xbb\xbf", "\xff"};
    out->push_back('"');
    const size_t n = Pick(6);
    for (size_t i = 0; i < n; ++i) *out += Chance(3) ? From(kParts) : "x";
    out->push_back('"');
  }

  void Number(std::string* out) {
    static const char* const kNumbers[] = {
        "0", "-0", "7", "-7", "12.10", "0.5", "-0.0", "1e5", "1E+5", "2.5e-3", "1e400", "-1e400",
        "1e-400", "1E308", "1.8e308", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "-9223372036854775809", "18446744073709551615",
        "18446744073709551616", "9999999999999999999", "-9999999999999999999",
        "99999999999999999999", "00", "01", "-", "1.", ".5", "1e", "+1", "1.5.2", "0x10",
        "123456789012345678901234567890.5"};
    *out += From(kNumbers);
  }

  void Value(std::string* out, int depth) {
    const size_t kind = depth > 6 ? 2 + Pick(3) : Pick(6);
    switch (kind) {
      case 0: {  // object
        *out += '{';
        const size_t n = Pick(5);
        static const char* const kKeys[] = {"type", "store_id", "a", "", "order", "items",
                                            "\\u0061", "x"};
        for (size_t i = 0; i < n; ++i) {
          if (i > 0) *out += Chance(30) ? "" : ",";
          if (Chance(10)) *out += Ws();
          *out += '"';
          *out += From(kKeys);
          *out += '"';
          if (Chance(10)) *out += Ws();
          *out += ':';
          if (Chance(10)) *out += Ws();
          Value(out, depth + 1);
        }
        *out += Chance(40) ? "" : "}";
        break;
      }
      case 1: {  // array
        *out += '[';
        const size_t n = Pick(5);
        for (size_t i = 0; i < n; ++i) {
          if (i > 0) *out += Chance(30) ? ",," : ",";
          Value(out, depth + 1);
        }
        *out += ']';
        break;
      }
      case 2: String(out); break;
      case 3: Number(out); break;
      default: {
        static const char* const kLiterals[] = {"true", "false", "null", "tru", "nul", "True"};
        *out += From(kLiterals);
      }
    }
  }

  std::mt19937 rng_;
};

TEST(JsonExact, FastParserTakesOnlyWhatTheSaxParserTakesAsTheSameValue) {
  RandomJson gen(20261206);
  int fast_taken = 0, documents = 0, sax_ok = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string doc = gen.Document();
    std::vector<std::string> texts = {doc, gen.Mutate(doc), gen.Mutate(gen.Mutate(doc))};
    for (const std::string& text : texts) {
      ++documents;
      if (json_exact_internal::ParseSax(text).ok()) ++sax_ok;
      ASSERT_TRUE(Agree(text, &fast_taken)) << text;
    }
  }
  // Both kinds were met often: documents the fast parser takes, and ones it leaves.
  EXPECT_GT(fast_taken, documents / 10);
  EXPECT_LT(fast_taken, sax_ok);
}

TEST(JsonExact, FastParserTakesEventsAsTheyAreStored) {
  const std::string body =
      R"({"customer":{"loyalty_id":"L-00000001"},"event_id":"e-1","occurred_at":"2026-12-06T09:10:11.123+01:00",)"
      R"("order":{"currency":"EUR","items":[{"quantity":2,"sku":"A","unit_price":12.10},)"
      R"({"quantity":-1,"sku":"B \"big\"","unit_price":0.5}],"order_id":"o-1"},"store_id":"store-042","type":"transaction"})";
  nlohmann::json fast;
  ASSERT_TRUE(json_exact_internal::ParseFast(body, &fast));
  int taken = 0;
  EXPECT_TRUE(Agree(body, &taken));
  EXPECT_EQ(JsonNumberText(fast["order"]["items"][0]["unit_price"]), "12.10");
  EXPECT_TRUE(fast["order"]["items"][1]["quantity"].is_number_integer());
  EXPECT_TRUE(fast["order"]["items"][0]["quantity"].is_number_unsigned());
}

}  // namespace
}  // namespace cjd
