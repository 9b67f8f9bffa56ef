// The segment rule language (POST /v1/segments takes a rule from an operator): ParseRule, then
// the printed form must parse back to the same rule, and evaluation over sample profiles (every
// type set, everything null) must give the same truth for the rule and its reprint.
#include <string>
#include <vector>

#include "hub/segments/facts.h"
#include "hub/segments/rule.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace cjd::hub::segments;

const std::vector<ProfileFacts>& Samples() {
  static const std::vector<ProfileFacts> samples = [] {
    std::vector<ProfileFacts> out;
    ProfileFacts a;
    a.SetInt("orders", 3);
    a.Set("revenue_gross", *cjd::Decimal::Parse("100.1"));
    a.Set("revenue_net", *cjd::Decimal::Parse("-3.50"));
    a.SetInt("days_since_last_order", 75);
    a.Set("favourite_category", std::string("candles"));
    a.Set("favourite_store", std::string("say \"hi\""));
    a.Set("channels", StringList{"store", "web"});
    a.Set("consent", true);
    a.SetInt("rfm.recency", 2);
    a.Set("first_seen", Instant{1'600'000'000'000});
    a.Set("attributes.tier", std::string("gold"));
    a.Set("attributes.points", *cjd::Decimal::Parse("12.5"));
    out.push_back(a);
    out.push_back(ProfileFacts());
    ProfileFacts b;
    b.SetInt("orders", 0);
    b.Set("revenue_gross", *cjd::Decimal::Parse("999999999999999999"));
    b.Set("channels", StringList{});
    b.Set("consent", false);
    b.Set("first_seen", Instant{-62'000'000'000'000});
    b.Set("attributes.vip", true);
    out.push_back(b);
    return out;
  }();
  return samples;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto rule = ParseRule(cjd::fuzz::AsText(data, size));
  if (!rule.ok()) return 0;
  const std::string printed = rule->ToString();
  // The hub refuses a rule whose printed form is over the limit (SegmentEngine::Put): it stores
  // that form and parses it again at every start.
  if (printed.size() > cjd::hub::segments::kMaxRuleBytes) return 0;
  auto again = ParseRule(printed);
  CJD_FUZZ_CHECK(again.ok(), "a printed rule does not parse: " + again.status().ToString() +
                                 " in " + printed);
  CJD_FUZZ_CHECK(again->ToString() == printed, "a rule printed differently after a reparse: " +
                                                   printed + " / " + again->ToString());
  (void)rule->Fields();
  for (const ProfileFacts& facts : Samples()) {
    CJD_FUZZ_CHECK(rule->Evaluate(facts) == again->Evaluate(facts),
                   "a rule and its reprint disagree: " + printed);
  }
  return 0;
}
