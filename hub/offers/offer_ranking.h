// Which offers a customer sees, and in what order: pure functions over offer specs, with what the
// ranking needs to know of a customer (segment membership, redemptions) asked through an
// interface. No SQLite here; the planner supplies the facts from its databases
// (hub/offers/offer_planner.cpp) and the unit tests from memory.
//
// Ranking: priority (higher first), then the offer that ends sooner, then id. Offers running at
// `now` come first; offers that start later ride along after them (up to kMaxOffersPerList in a
// list) without counting towards `max_running`, so offers scheduled ahead never crowd out
// today's, and an offline kiosk shows them from their first minute.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hub/offers/offer_spec.h"
#include "shared/core/status.h"

namespace cjd::hub::offers {

// Best first: priority, then the offer that ends sooner, then id.
bool Better(const OfferSpec& a, const OfferSpec& b);

// True when the offer is for every customer and needs nothing of them (no segment, no consent):
// such offers make up the general list an unknown customer sees.
bool IsForEveryone(const OfferSpec& o);

// The offers valid at `now` or later (not yet ended), running ones first, each group best first.
std::vector<const OfferSpec*> OrderLive(std::vector<const OfferSpec*> offers, int64_t now_ms);

// What one store's devices hold: its offers out of `ordered` (OrderLive's order kept), and the
// general list: the ids of those for everyone, at most `max_running` running ones.
struct StoreOffers {
  std::vector<const OfferSpec*> offers;
  std::vector<std::string> general;
};
StoreOffers OffersForStore(const std::vector<const OfferSpec*>& ordered, const std::string& store,
                           int64_t now_ms, int max_running);

// What eligibility needs to know of one customer. Errors (a failed read) end the ranking.
class CustomerFacts {
 public:
  virtual ~CustomerFacts() = default;
  virtual Result<bool> IsMember(const std::string& segment_id, int64_t profile_id) = 0;
  virtual Result<int64_t> Redemptions(const std::string& offer_id, int64_t profile_id) = 0;
};

// An offer is eligible for a customer when its segment is "all" or the customer is a member, its
// consent need is met, and the customer redeemed it fewer than max_per_customer times (0 = no
// limit).
Result<bool> IsEligible(const OfferSpec& o, int64_t profile_id, bool consent,
                        CustomerFacts& facts);

// The customer's ranked list of offer ids at a store: the eligible ones among `store_offers`
// (OffersForStore's order), at most `max_running` running ones, kMaxOffersPerList in all.
Result<std::vector<std::string>> RankForCustomer(const std::vector<const OfferSpec*>& store_offers,
                                                 int64_t now_ms, int max_running,
                                                 int64_t profile_id, bool consent,
                                                 CustomerFacts& facts);

}  // namespace cjd::hub::offers
