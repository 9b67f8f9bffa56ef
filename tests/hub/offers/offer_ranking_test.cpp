// Ranking and eligibility without any database: offer specs in memory and a customer's facts
// from maps (hub/offers/offer_ranking.h).
#include "hub/offers/offer_ranking.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "shared/protocol/offer_update.h"

namespace cjd::hub::offers {
namespace {

constexpr int64_t kNow = 1'000'000;

OfferSpec Offer(std::string id, int64_t priority, int64_t from, int64_t until) {
  // Constructed, not assigned member by member (GCC 12 warns falsely on short string assigns).
  return OfferSpec{.id = std::move(id),
                   .title = std::string(10, 't'),
                   .segment = std::string(kEveryone),
                   .valid_from_ms = from,
                   .valid_until_ms = until,
                   .priority = priority};
}

std::vector<std::string> Ids(const std::vector<const OfferSpec*>& v) {
  std::vector<std::string> out;
  for (const OfferSpec* o : v) out.push_back(o->id);
  return out;
}

class MapFacts final : public CustomerFacts {
 public:
  std::set<std::pair<std::string, int64_t>> members;
  std::map<std::pair<std::string, int64_t>, int64_t> redeemed;
  int calls = 0;
  bool fail = false;
  Result<bool> IsMember(const std::string& segment, int64_t profile) override {
    ++calls;
    if (fail) return Status::Internal("segments.db unreadable");
    return members.contains({segment, profile});
  }
  Result<int64_t> Redemptions(const std::string& offer, int64_t profile) override {
    ++calls;
    auto it = redeemed.find({offer, profile});
    return it == redeemed.end() ? 0 : it->second;
  }
};

TEST(OfferRanking, BetterIsHigherPriorityThenSoonerEndThenId) {
  const OfferSpec a = Offer("a", 5, 0, 2 * kNow);
  const OfferSpec b = Offer("b", 1, 0, 2 * kNow);
  const OfferSpec c = Offer("c", 5, 0, 3 * kNow);
  const OfferSpec d = Offer("d", 5, 0, 2 * kNow);
  EXPECT_TRUE(Better(a, b));   // priority
  EXPECT_FALSE(Better(b, a));
  EXPECT_TRUE(Better(a, c));   // same priority: ends sooner
  EXPECT_TRUE(Better(a, d));   // same priority and end: id
  EXPECT_FALSE(Better(a, a));  // a strict order
}

TEST(OfferRanking, OrderLiveDropsEndedOffersAndPutsRunningOnesFirst) {
  const OfferSpec ended = Offer("ended", 99, 0, kNow);  // the end is exclusive
  const OfferSpec later_high = Offer("later-high", 99, kNow + 1, 3 * kNow);
  const OfferSpec running_low = Offer("running-low", 1, 0, 2 * kNow);
  const OfferSpec running_high = Offer("running-high", 7, kNow, 2 * kNow);  // starts now
  const auto ordered = OrderLive({&ended, &later_high, &running_low, &running_high}, kNow);
  EXPECT_EQ(Ids(ordered),
            (std::vector<std::string>{"running-high", "running-low", "later-high"}));
}

TEST(OfferRanking, GeneralListHoldsOffersForEveryoneUpToTheRunningLimit) {
  OfferSpec a = Offer("a", 9, 0, 2 * kNow);
  OfferSpec seg = Offer("seg", 8, 0, 2 * kNow);
  seg.segment = "champions";
  OfferSpec consent = Offer("consent", 7, 0, 2 * kNow);
  consent.requires_consent = true;
  OfferSpec b = Offer("b", 6, 0, 2 * kNow);
  OfferSpec c = Offer("c", 5, 0, 2 * kNow);
  OfferSpec elsewhere = Offer("elsewhere", 4, 0, 2 * kNow);
  elsewhere.stores = {"s2"};
  OfferSpec later = Offer("later", 3, kNow + 5, 2 * kNow);
  const auto ordered = OrderLive({&a, &seg, &consent, &b, &c, &elsewhere, &later}, kNow);
  const StoreOffers s1 = OffersForStore(ordered, "s1", kNow, /*max_running=*/2);
  EXPECT_EQ(Ids(s1.offers), (std::vector<std::string>{"a", "seg", "consent", "b", "c", "later"}));
  // Two running offers for everyone; the one that starts later rides along uncounted.
  EXPECT_EQ(s1.general, (std::vector<std::string>{"a", "b", "later"}));
  const StoreOffers s2 = OffersForStore(ordered, "s2", kNow, 2);
  EXPECT_EQ(Ids(s2.offers),
            (std::vector<std::string>{"a", "seg", "consent", "b", "c", "elsewhere", "later"}));
}

TEST(OfferRanking, EligibilityNeedsMembershipConsentAndRedemptionsUnderTheLimit) {
  OfferSpec o = Offer("o", 1, 0, 2 * kNow);
  o.segment = "champions";
  o.requires_consent = true;
  o.max_per_customer = 2;
  MapFacts facts;
  facts.members = {{"champions", 7}};
  facts.redeemed = {{{"o", 7}, 1}, {{"o", 8}, 2}};
  EXPECT_TRUE(*IsEligible(o, 7, /*consent=*/true, facts));
  EXPECT_FALSE(*IsEligible(o, 7, /*consent=*/false, facts));
  facts.members.insert({"champions", 8});
  EXPECT_FALSE(*IsEligible(o, 8, true, facts));  // redeemed up to the limit
  EXPECT_FALSE(*IsEligible(o, 9, true, facts));  // not a member
  // No segment, no consent, no limit: nothing to ask.
  const OfferSpec plain = Offer("plain", 1, 0, 2 * kNow);
  facts.calls = 0;
  EXPECT_TRUE(*IsEligible(plain, 9, false, facts));
  EXPECT_EQ(facts.calls, 0);
}

TEST(OfferRanking, ACustomersListKeepsTheOrderAndTheLimitsAndSkipsWhatTheyMayNotSee) {
  OfferSpec a = Offer("a", 9, 0, 2 * kNow);
  OfferSpec seg = Offer("seg", 8, 0, 2 * kNow);
  seg.segment = "champions";
  OfferSpec b = Offer("b", 6, 0, 2 * kNow);
  OfferSpec c = Offer("c", 5, 0, 2 * kNow);
  OfferSpec later = Offer("later", 3, kNow + 5, 2 * kNow);
  const auto store = OffersForStore(OrderLive({&a, &seg, &b, &c, &later}, kNow), "s1", kNow, 2);
  MapFacts facts;
  facts.members = {{"champions", 7}};
  auto member = RankForCustomer(store.offers, kNow, 2, 7, false, facts);
  ASSERT_TRUE(member.ok());
  EXPECT_EQ(*member, (std::vector<std::string>{"a", "seg", "later"}));
  auto other = RankForCustomer(store.offers, kNow, 2, 8, false, facts);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, store.general);  // nothing personal: the general list
}

TEST(OfferRanking, AListNeverExceedsTheProtocolsMaximum) {
  std::vector<OfferSpec> specs;
  for (int i = 0; i < 80; ++i) {
    std::string id = "o";
    id += std::to_string(100 + i);
    specs.push_back(Offer(id, 0, kNow + 1 + i, 2 * kNow));
  }
  std::vector<const OfferSpec*> ptrs;
  for (const OfferSpec& s : specs) ptrs.push_back(&s);
  const auto store = OffersForStore(OrderLive(ptrs, kNow), "s1", kNow, 10);
  EXPECT_EQ(store.general.size(), kMaxOffersPerList);
  MapFacts facts;
  auto list = RankForCustomer(store.offers, kNow, 10, 1, true, facts);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), kMaxOffersPerList);
}

TEST(OfferRanking, AFailedReadEndsTheRankingWithItsError) {
  OfferSpec seg = Offer("seg", 8, 0, 2 * kNow);
  seg.segment = "champions";
  MapFacts facts;
  facts.fail = true;
  auto list = RankForCustomer({&seg}, kNow, 10, 1, true, facts);
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().ToString().find("segments.db unreadable"), std::string::npos);
}

}  // namespace
}  // namespace cjd::hub::offers
