#include "hub/journeys/attribution.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace cjd::hub::journeys {
namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kT0 = 1700000000000;  // conversion time used by the hand-computed cases

const Model kAllModels[] = {Model::kFirstTouch, Model::kLastTouch,      Model::kLinear,
                            Model::kTimeDecay,  Model::kPositionBased, Model::kMarkov};

// A converted journey with touches `days_before` conversion (in order) on `channels`.
Journey Converted(std::vector<std::pair<std::string, int64_t>> channel_days_before,
                  int64_t revenue_cents) {
  Journey j;
  for (auto& [channel, days] : channel_days_before) {
    j.touches.push_back({kT0 - days * kDay, channel});
  }
  j.converted = true;
  j.converted_at_ms = kT0;
  j.revenue_cents = revenue_cents;
  return j;
}

Journey NotConverted(std::vector<std::string> channels) {
  Journey j;
  int64_t at = kT0 - 30 * kDay;
  for (auto& c : channels) j.touches.push_back({at += kDay, c});
  return j;
}

// channel -> cents, and channel -> conversion credit.
std::map<std::string, int64_t> Cents(const AttributionResult& r) {
  std::map<std::string, int64_t> m;
  for (const auto& c : r.channels) m[c.channel] = c.revenue_cents;
  return m;
}
std::map<std::string, double> Credit(const AttributionResult& r) {
  std::map<std::string, double> m;
  for (const auto& c : r.channels) m[c.channel] = c.conversions;
  return m;
}
int64_t SumCents(const AttributionResult& r) {
  int64_t s = 0;
  for (const auto& c : r.channels) s += c.revenue_cents;
  return s;
}

AttributionResult Attributed(Model model, const std::vector<Journey>& js,
                      const AttributionOptions& opt = {}) {
  auto r = Attribute(model, js, opt);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : AttributionResult{};
}

// Distinct channel per touch so the per-channel cents are the per-touch cents.
const std::vector<std::pair<std::string, int64_t>> kThreeTouches = {
    {"a", 14}, {"b", 7}, {"c", 0}};

TEST(SplitLargestRemainder, FloorsThenLargestRemaindersEarlierFirstOnTies) {
  EXPECT_EQ(SplitLargestRemainder(10000, {1, 1, 1}), (std::vector<int64_t>{3334, 3333, 3333}));
  EXPECT_EQ(SplitLargestRemainder(2, {1, 1, 1}), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(SplitLargestRemainder(10000, {1, 2, 4}), (std::vector<int64_t>{1429, 2857, 5714}));
  EXPECT_EQ(SplitLargestRemainder(0, {1, 2}), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(SplitLargestRemainder(5, {0, 1, 0}), (std::vector<int64_t>{0, 5, 0}));
  // A zero weight never receives a leftover cent even when it is first.
  EXPECT_EQ(SplitLargestRemainder(1, {0, 1, 1}), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_TRUE(SplitLargestRemainder(-1, {1}).empty());
  EXPECT_TRUE(SplitLargestRemainder(1, {}).empty());
  EXPECT_TRUE(SplitLargestRemainder(1, {0, 0}).empty());
  EXPECT_TRUE(SplitLargestRemainder(1, {1, -1}).empty());
}

TEST(SplitLargestRemainder, HugeTotalsStayExact) {
  const int64_t big = INT64_MAX;
  for (const auto& w : std::vector<std::vector<double>>{{1, 1, 1}, {0.1, 0.7, 0.2}, {1e-9, 1}}) {
    auto parts = SplitLargestRemainder(big, w);
    ASSERT_EQ(parts.size(), w.size());
    __extension__ __int128 sum = 0;
    for (int64_t p : parts) {
      EXPECT_GE(p, 0);
      sum += p;
    }
    EXPECT_TRUE(sum == big);
  }
}

TEST(Attribution, FirstAndLastTouch) {
  std::vector<Journey> js = {Converted(kThreeTouches, 10000)};
  auto first = Attributed(Model::kFirstTouch, js);
  EXPECT_EQ(Cents(first), (std::map<std::string, int64_t>{{"a", 10000}, {"b", 0}, {"c", 0}}));
  EXPECT_EQ(Credit(first), (std::map<std::string, double>{{"a", 1}, {"b", 0}, {"c", 0}}));
  auto last = Attributed(Model::kLastTouch, js);
  EXPECT_EQ(Cents(last), (std::map<std::string, int64_t>{{"a", 0}, {"b", 0}, {"c", 10000}}));
  EXPECT_EQ(Credit(last), (std::map<std::string, double>{{"a", 0}, {"b", 0}, {"c", 1}}));
  EXPECT_EQ(first.total_revenue_cents, 10000);
  EXPECT_EQ(first.conversions, 1);
  EXPECT_EQ(first.journeys, 1);
  EXPECT_TRUE(first.removal_effects.empty());
}

TEST(Attribution, LinearGivesTheExtraCentToTheFirstTouch) {
  // 100.00 / 3 = 33.333...: floors 33.33 each, the one cent left goes to the first touch.
  auto r = Attributed(Model::kLinear, {Converted(kThreeTouches, 10000)});
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"a", 3334}, {"b", 3333}, {"c", 3333}}));
  for (const auto& [ch, credit] : Credit(r)) EXPECT_NEAR(credit, 1.0 / 3, 1e-12) << ch;
  // 100.02 / 3 = 33.34 each exactly.
  r = Attributed(Model::kLinear, {Converted(kThreeTouches, 10002)});
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"a", 3334}, {"b", 3334}, {"c", 3334}}));
  // 1.00 / 3: two leftover cents go to the first two touches.
  r = Attributed(Model::kLinear, {Converted(kThreeTouches, 101)});
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"a", 34}, {"b", 34}, {"c", 33}}));
}

TEST(Attribution, LinearCountsRepeatedChannelsPerTouch) {
  // web, email, web over 10.00: web 2/3 = 6.67 (3.34 + 3.33), email 3.33.
  auto r = Attributed(Model::kLinear, {Converted({{"web", 3}, {"email", 2}, {"web", 1}}, 1000)});
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"email", 333}, {"web", 667}}));
  EXPECT_NEAR(Credit(r)["web"], 2.0 / 3, 1e-12);
  EXPECT_NEAR(Credit(r)["email"], 1.0 / 3, 1e-12);
}

TEST(Attribution, TimeDecayHalvesPerHalfLife) {
  // Half life 7 days, touches 14, 7, 0 days before: weights 1/4, 1/2, 1 -> 1/7, 2/7, 4/7 of
  // 100.00 = 14.2857, 28.5714, 57.1428 -> floors 14.28 + 28.57 + 57.14 = 99.99; the cent left
  // goes to the largest remainder (.57 of touch a): 14.29, 28.57, 57.14.
  auto r = Attributed(Model::kTimeDecay, {Converted(kThreeTouches, 10000)});
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"a", 1429}, {"b", 2857}, {"c", 5714}}));
  EXPECT_NEAR(Credit(r)["a"], 1.0 / 7, 1e-12);
  EXPECT_NEAR(Credit(r)["b"], 2.0 / 7, 1e-12);
  EXPECT_NEAR(Credit(r)["c"], 4.0 / 7, 1e-12);

  // Half life 14 days: weights 1/2, 1/sqrt2, 1 over 10.00. Sum = 2.2071068;
  // 10.00 * (0.2265372, 0.3203772, 0.4530855) = 226.54, 320.38, 453.08 cents
  // -> floors 226 + 320 + 453 = 999; the cent goes to .54 (a): 227, 320, 453.
  AttributionOptions opt;
  opt.half_life_days = 14;
  r = Attributed(Model::kTimeDecay, {Converted(kThreeTouches, 1000)}, opt);
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"a", 227}, {"b", 320}, {"c", 453}}));

  // Same-instant touches get the same weight; a touch years back gets ~0 but nothing breaks.
  r = Attributed(Model::kTimeDecay, {Converted({{"a", 3650}, {"b", 0}, {"c", 0}}, 1001)});
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"a", 0}, {"b", 501}, {"c", 500}}));
}

TEST(Attribution, PositionBasedUShape) {
  std::vector<std::pair<std::string, int64_t>> five = {
      {"a", 5}, {"b", 4}, {"c", 3}, {"d", 2}, {"e", 1}};
  // 40/20/40 over 3 touches.
  auto r = Attributed(Model::kPositionBased, {Converted(kThreeTouches, 10000)});
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"a", 4000}, {"b", 2000}, {"c", 4000}}));
  EXPECT_NEAR(Credit(r)["b"], 0.2, 1e-12);
  // 5 touches: 40, 20/3 x3, 40 of 100.00: 4000, 666.67 x3, 4000 -> two cents left, to the first
  // two middle touches (remainder .67 each, earlier first).
  r = Attributed(Model::kPositionBased, {Converted(five, 10000)});
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{
                          {"a", 4000}, {"b", 667}, {"c", 667}, {"d", 666}, {"e", 4000}}));
  EXPECT_NEAR(Credit(r)["c"], 0.2 / 3, 1e-12);
  // 4 touches over 100.01: 4000.4, 1000.1, 1000.1, 4000.4 -> the cent goes to the first touch.
  r = Attributed(Model::kPositionBased,
                 {Converted({{"a", 4}, {"b", 3}, {"c", 2}, {"d", 1}}, 10001)});
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{
                          {"a", 4001}, {"b", 1000}, {"c", 1000}, {"d", 4000}}));
  // 1 touch: all of it; 2 touches: 50/50, the odd cent to the first.
  r = Attributed(Model::kPositionBased, {Converted({{"a", 1}}, 999)});
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"a", 999}}));
  EXPECT_EQ(Credit(r)["a"], 1.0);
  r = Attributed(Model::kPositionBased, {Converted({{"a", 2}, {"b", 1}}, 999)});
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"a", 500}, {"b", 499}}));
  EXPECT_EQ(Credit(r)["b"], 0.5);
  // Custom shares 60/20: 3 touches 60/20/20; shares summing to 1 leave the middle nothing.
  AttributionOptions opt;
  opt.first_share = 0.6;
  opt.last_share = 0.2;
  r = Attributed(Model::kPositionBased, {Converted(kThreeTouches, 10000)}, opt);
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"a", 6000}, {"b", 2000}, {"c", 2000}}));
  opt.first_share = 0.7;
  opt.last_share = 0.3;
  r = Attributed(Model::kPositionBased, {Converted(five, 1000)}, opt);
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{
                          {"a", 700}, {"b", 0}, {"c", 0}, {"d", 0}, {"e", 300}}));
  EXPECT_NEAR(Credit(r)["c"], 0.0, 1e-12);
}

TEST(Attribution, OneAndTwoTouchCasesForEveryRuleModel) {
  for (Model m : {Model::kFirstTouch, Model::kLastTouch, Model::kLinear, Model::kTimeDecay,
                  Model::kPositionBased}) {
    auto r = Attributed(m, {Converted({{"web", 3}}, 12345)});
    EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"web", 12345}})) << ModelName(m);
  }
  const std::vector<Journey> two = {Converted({{"web", 7}, {"email", 0}}, 10001)};
  EXPECT_EQ(Cents(Attributed(Model::kFirstTouch, two)),
            (std::map<std::string, int64_t>{{"email", 0}, {"web", 10001}}));
  EXPECT_EQ(Cents(Attributed(Model::kLastTouch, two)),
            (std::map<std::string, int64_t>{{"email", 10001}, {"web", 0}}));
  EXPECT_EQ(Cents(Attributed(Model::kLinear, two)),
            (std::map<std::string, int64_t>{{"email", 5000}, {"web", 5001}}));
  // Time decay: 1/2 and 1 -> 1/3 and 2/3 of 100.01 = 3333.67, 6667.33 -> 3334, 6667.
  EXPECT_EQ(Cents(Attributed(Model::kTimeDecay, two)),
            (std::map<std::string, int64_t>{{"email", 6667}, {"web", 3334}}));
}

TEST(Attribution, SumsPerChannelOverJourneysAndKeepsUntouchedRevenueApart) {
  std::vector<Journey> js = {
      Converted({{"web", 2}, {"email", 1}}, 1001),  // linear: web 501, email 500
      Converted({{"email", 1}}, 250),
      Converted({}, 777),                           // no touch: unattributed
      NotConverted({"store", "web"}),
      Converted({{"web", 0}}, 0),                   // a zero-revenue order still converts
  };
  auto r = Attributed(Model::kLinear, js);
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"email", 750}, {"store", 0}, {"web", 501}}));
  EXPECT_NEAR(Credit(r)["web"], 1.5, 1e-12);
  EXPECT_NEAR(Credit(r)["email"], 1.5, 1e-12);
  EXPECT_EQ(Credit(r)["store"], 0);
  EXPECT_EQ(r.total_revenue_cents, 1251);
  EXPECT_EQ(r.unattributed_revenue_cents, 777);
  EXPECT_EQ(r.conversions, 4);
  EXPECT_EQ(r.journeys, 5);
  ASSERT_EQ(r.channels.size(), 3u);
  EXPECT_EQ(r.channels[0].channel, "email");
  EXPECT_EQ(r.channels[1].channel, "store");
  EXPECT_EQ(r.channels[2].channel, "web");
  for (Model m : kAllModels) {
    auto each = Attributed(m, js);
    EXPECT_EQ(SumCents(each), each.total_revenue_cents) << ModelName(m);
    EXPECT_EQ(each.total_revenue_cents, 1251) << ModelName(m);
    EXPECT_EQ(each.unattributed_revenue_cents, 777) << ModelName(m);
  }
}

TEST(Attribution, EmptyInput) {
  for (Model m : kAllModels) {
    auto r = Attributed(m, {});
    EXPECT_TRUE(r.channels.empty());
    EXPECT_EQ(r.total_revenue_cents, 0);
    EXPECT_EQ(r.unattributed_revenue_cents, 0);
    EXPECT_EQ(r.conversions, 0);
    EXPECT_EQ(r.journeys, 0);
  }
}

// Paths: web -> email -> (conversion) 100.00, web -> (null), email -> (conversion) 50.00.
// Transitions: start->web 2/3, start->email 1/3; web->email 1/2, web->null 1/2;
// email->conversion 1.
//   P(conv | email) = 1, P(conv | web) = 1/2, P = 2/3 * 1/2 + 1/3 * 1 = 2/3.
//   Without web (start->web goes to null): P = 1/3 * 1 = 1/3 -> removal effect 1 - (1/3)/(2/3)
//   = 1/2. Without email: nothing converts, P = 0 -> removal effect 1.
//   Shares: web 0.5/1.5 = 1/3, email 2/3. Total 150.00 -> web 50.00, email 100.00.
//   Conversions (2 with touches): web 2/3, email 4/3.
TEST(Attribution, MarkovRemovalEffectsByHand) {
  std::vector<Journey> js = {
      Converted({{"web", 2}, {"email", 1}}, 10000),
      NotConverted({"web"}),
      Converted({{"email", 1}}, 5000),
  };
  auto r = Attributed(Model::kMarkov, js);
  ASSERT_EQ(r.removal_effects.size(), 2u);
  EXPECT_EQ(r.removal_effects[0].first, "email");
  EXPECT_NEAR(r.removal_effects[0].second, 1.0, 1e-12);
  EXPECT_EQ(r.removal_effects[1].first, "web");
  EXPECT_NEAR(r.removal_effects[1].second, 0.5, 1e-12);
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"email", 10000}, {"web", 5000}}));
  EXPECT_NEAR(Credit(r)["web"], 2.0 / 3, 1e-12);
  EXPECT_NEAR(Credit(r)["email"], 4.0 / 3, 1e-12);
  EXPECT_EQ(r.total_revenue_cents, 15000);

  // Same paths, total 100.00: web 33.3333, email 66.6667 -> floors 33.33 + 66.66, the cent to
  // email (.67 > .33).
  js[0].revenue_cents = 5000;
  js[2].revenue_cents = 5000;
  r = Attributed(Model::kMarkov, js);
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"email", 6667}, {"web", 3333}}));
}

// A loop, so the conversion probabilities need the linear solve:
// paths a -> b -> a -> (conversion) 100.01, and b -> (null).
// Transitions: start->a 1/2, start->b 1/2; a->b 1/2, a->conv 1/2; b->a 1/2, b->null 1/2.
//   x_a = 1/2 + 1/2 x_b, x_b = 1/2 x_a -> x_a = 2/3, x_b = 1/3; P = 1/2 (2/3 + 1/3) = 1/2.
//   Without a: x_b = 0 -> P = 0 -> removal effect 1.
//   Without b: x_a = 1/2 -> P = 1/4 -> removal effect 1/2.
//   Shares a 2/3, b 1/3 of 10001: 6667.33, 3333.67 -> floors 6667 + 3333, the cent to b.
// Consecutive repeats collapse: "a, a, b, b, a" is the path a -> b -> a.
TEST(Attribution, MarkovWithALoopAndRepeatsCollapsed) {
  std::vector<Journey> js = {
      Converted({{"a", 5}, {"a", 4}, {"b", 3}, {"b", 2}, {"a", 1}}, 10001),
      NotConverted({"b"}),
  };
  auto r = Attributed(Model::kMarkov, js);
  ASSERT_EQ(r.removal_effects.size(), 2u);
  EXPECT_NEAR(r.removal_effects[0].second, 1.0, 1e-12);
  EXPECT_NEAR(r.removal_effects[1].second, 0.5, 1e-12);
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"a", 6667}, {"b", 3334}}));
  EXPECT_NEAR(Credit(r)["a"], 2.0 / 3, 1e-12);
  EXPECT_NEAR(Credit(r)["b"], 1.0 / 3, 1e-12);
}

TEST(Attribution, MarkovTiesGoToTheChannelFirstByName) {
  // Two symmetric paths: each channel's removal effect is 1/2, shares 1/2 each; 1.01 -> the
  // odd cent to "alpha".
  std::vector<Journey> js = {Converted({{"zulu", 1}}, 51), Converted({{"alpha", 1}}, 50)};
  auto r = Attributed(Model::kMarkov, js);
  EXPECT_NEAR(r.removal_effects[0].second, 0.5, 1e-12);
  EXPECT_NEAR(r.removal_effects[1].second, 0.5, 1e-12);
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"alpha", 51}, {"zulu", 50}}));
}

TEST(Attribution, MarkovWithoutAnyTouchedConversionAttributesNothing) {
  std::vector<Journey> js = {NotConverted({"web", "email"}), Converted({}, 300)};
  auto r = Attributed(Model::kMarkov, js);
  EXPECT_EQ(Cents(r), (std::map<std::string, int64_t>{{"email", 0}, {"web", 0}}));
  EXPECT_EQ(Credit(r), (std::map<std::string, double>{{"email", 0}, {"web", 0}}));
  EXPECT_EQ(r.total_revenue_cents, 0);
  EXPECT_EQ(r.unattributed_revenue_cents, 300);
  ASSERT_EQ(r.removal_effects.size(), 2u);
  EXPECT_EQ(r.removal_effects[0].second, 0);
  EXPECT_EQ(r.removal_effects[1].second, 0);
}

TEST(Attribution, RefusesBadInputNamingTheField) {
  auto field_of = [](const std::vector<Journey>& js, const AttributionOptions& opt = {}) {
    auto r = Attribute(Model::kLinear, js, opt);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalid);
    return r.status().field();
  };
  const Journey good = Converted({{"web", 2}, {"email", 1}}, 100);

  Journey after = good;
  after.touches[1].at_ms = kT0 + 1;
  EXPECT_EQ(field_of({good, good, good, after}), "journeys[3].touches[1].at_ms");

  Journey unsorted = good;
  unsorted.touches[0].at_ms = unsorted.touches[1].at_ms + 1;
  EXPECT_EQ(field_of({good, unsorted}), "journeys[1].touches[1].at_ms");
  Journey unsorted_open = NotConverted({"a", "b", "c"});
  std::swap(unsorted_open.touches[1].at_ms, unsorted_open.touches[2].at_ms);
  EXPECT_EQ(field_of({unsorted_open}), "journeys[0].touches[2].at_ms");

  Journey negative = good;
  negative.revenue_cents = -1;
  EXPECT_EQ(field_of({negative}), "journeys[0].revenue_cents");

  Journey empty_channel = good;
  empty_channel.touches[0].channel.clear();
  EXPECT_EQ(field_of({good, good, empty_channel}), "journeys[2].touches[0].channel");

  Journey huge = good;
  huge.revenue_cents = INT64_MAX;
  EXPECT_EQ(field_of({good, huge}), "journeys[1].revenue_cents");

  AttributionOptions opt;
  opt.half_life_days = 0;
  EXPECT_EQ(field_of({good}, opt), "half_life_days");
  opt = {};
  opt.half_life_days = std::nan("");
  EXPECT_EQ(field_of({good}, opt), "half_life_days");
  opt = {};
  opt.first_share = -0.1;
  EXPECT_EQ(field_of({good}, opt), "first_share");
  opt = {};
  opt.last_share = 1.5;
  EXPECT_EQ(field_of({good}, opt), "last_share");
  opt = {};
  opt.first_share = 0.6;
  opt.last_share = 0.5;
  EXPECT_EQ(field_of({good}, opt), "last_share");
  opt = {};
  opt.markov_order = 2;
  EXPECT_EQ(field_of({good}, opt), "markov_order");
}

TEST(Attribution, AcceptsEdgeInputs) {
  // A touch at the conversion instant, equal touch times, and a non-converted journey whose
  // touches are later than its (ignored) converted_at and whose (ignored) revenue is negative.
  Journey at_conversion = Converted({{"web", 0}, {"email", 0}}, 100);
  Journey open = NotConverted({"web"});
  open.converted_at_ms = 0;
  open.revenue_cents = -5;
  for (Model m : kAllModels) {
    auto r = Attribute(m, {at_conversion, open});
    ASSERT_TRUE(r.ok()) << ModelName(m) << ": " << r.status().ToString();
    EXPECT_EQ(SumCents(*r), 100) << ModelName(m);
  }
}

TEST(Attribution, ModelNamesRoundTrip) {
  for (Model m : kAllModels) {
    auto back = ModelFromName(ModelName(m));
    ASSERT_TRUE(back.has_value()) << ModelName(m);
    EXPECT_EQ(*back, m);
  }
  EXPECT_EQ(ModelName(Model::kPositionBased), "position_based");
  EXPECT_EQ(ModelFromName("markov"), Model::kMarkov);
  EXPECT_FALSE(ModelFromName("Linear").has_value());
  EXPECT_FALSE(ModelFromName("").has_value());
  EXPECT_FALSE(ModelFromName("shapley").has_value());
}

TEST(Attribution, RandomJourneysAlwaysSumExactly) {
  std::mt19937_64 rng(20240601);
  const std::vector<std::string> names = {"web", "email", "store", "kiosk_offer", "sms", "ads"};
  for (int round = 0; round < 60; ++round) {
    std::vector<Journey> js;
    const int n = std::uniform_int_distribution<int>(0, 40)(rng);
    int64_t converted_revenue = 0;
    for (int i = 0; i < n; ++i) {
      Journey j;
      j.converted = rng() % 3 != 0;
      j.converted_at_ms = kT0;
      const int touches = std::uniform_int_distribution<int>(0, 8)(rng);
      std::vector<int64_t> ats;
      for (int k = 0; k < touches; ++k) {
        ats.push_back(kT0 - std::uniform_int_distribution<int64_t>(0, 60 * kDay)(rng));
      }
      std::sort(ats.begin(), ats.end());
      for (int64_t at : ats) j.touches.push_back({at, names[rng() % names.size()]});
      const int scale = std::uniform_int_distribution<int>(0, 3)(rng);
      const int64_t max_cents = scale == 3 ? 1000000000000 : 100000;  // up to 10 billion
      j.revenue_cents = std::uniform_int_distribution<int64_t>(0, max_cents)(rng);
      if (j.converted) converted_revenue += j.revenue_cents;
      js.push_back(std::move(j));
    }
    AttributionOptions opt;
    opt.half_life_days = std::uniform_real_distribution<double>(0.1, 30)(rng);
    opt.first_share = std::uniform_real_distribution<double>(0, 0.5)(rng);
    opt.last_share = std::uniform_real_distribution<double>(0, 0.5)(rng);
    for (Model m : kAllModels) {
      auto r = Attribute(m, js, opt);
      ASSERT_TRUE(r.ok()) << ModelName(m) << ": " << r.status().ToString();
      EXPECT_EQ(SumCents(*r), r->total_revenue_cents) << ModelName(m) << " round " << round;
      EXPECT_EQ(r->total_revenue_cents + r->unattributed_revenue_cents, converted_revenue);
      int64_t touched = 0;
      for (const Journey& j : js) touched += j.converted && !j.touches.empty() ? 1 : 0;
      double credit = 0;
      for (size_t i = 0; i < r->channels.size(); ++i) {
        EXPECT_GE(r->channels[i].revenue_cents, 0);
        EXPECT_GE(r->channels[i].conversions, 0);
        credit += r->channels[i].conversions;
        if (i > 0) {
          EXPECT_LT(r->channels[i - 1].channel, r->channels[i].channel);
        }
      }
      if (m != Model::kMarkov || r->total_revenue_cents > 0 || touched == 0) {
        EXPECT_NEAR(credit, static_cast<double>(touched), 1e-9) << ModelName(m);
      }
      if (m == Model::kMarkov) {
        EXPECT_EQ(r->removal_effects.size(), r->channels.size());
        for (const auto& [ch, e] : r->removal_effects) {
          EXPECT_GE(e, 0) << ch;
          EXPECT_LE(e, 1) << ch;
        }
      } else {
        EXPECT_TRUE(r->removal_effects.empty());
      }
    }
  }
}

}  // namespace
}  // namespace cjd::hub::journeys
