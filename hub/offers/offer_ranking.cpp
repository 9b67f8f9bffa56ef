#include "hub/offers/offer_ranking.h"

#include <algorithm>

#include "shared/protocol/offer_update.h"

namespace cjd::hub::offers {

bool Better(const OfferSpec& a, const OfferSpec& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  if (a.valid_until_ms != b.valid_until_ms) return a.valid_until_ms < b.valid_until_ms;
  return a.id < b.id;
}

bool IsForEveryone(const OfferSpec& o) { return o.segment == kEveryone && !o.requires_consent; }

std::vector<const OfferSpec*> OrderLive(std::vector<const OfferSpec*> offers, int64_t now_ms) {
  std::erase_if(offers, [now_ms](const OfferSpec* o) { return o->valid_until_ms <= now_ms; });
  std::sort(offers.begin(), offers.end(), [now_ms](const OfferSpec* a, const OfferSpec* b) {
    const bool ra = a->valid_from_ms <= now_ms, rb = b->valid_from_ms <= now_ms;
    if (ra != rb) return ra;
    return Better(*a, *b);
  });
  return offers;
}

StoreOffers OffersForStore(const std::vector<const OfferSpec*>& ordered, const std::string& store,
                           int64_t now_ms, int max_running) {
  StoreOffers out;
  size_t running = 0;
  for (const OfferSpec* o : ordered) {
    if (!o->ForStore(store)) continue;
    out.offers.push_back(o);
    if (!IsForEveryone(*o) || out.general.size() >= kMaxOffersPerList) continue;
    if (o->valid_from_ms <= now_ms) {
      if (running >= static_cast<size_t>(std::max(max_running, 0))) continue;
      ++running;
    }
    out.general.push_back(o->id);
  }
  return out;
}

Result<bool> IsEligible(const OfferSpec& o, int64_t profile_id, bool consent,
                        CustomerFacts& facts) {
  if (o.requires_consent && !consent) return false;
  if (o.segment != kEveryone) {
    auto member = facts.IsMember(o.segment, profile_id);
    if (!member.ok()) return member.status();
    if (!*member) return false;
  }
  if (o.max_per_customer > 0) {
    auto used = facts.Redemptions(o.id, profile_id);
    if (!used.ok()) return used.status();
    if (*used >= o.max_per_customer) return false;
  }
  return true;
}

Result<std::vector<std::string>> RankForCustomer(const std::vector<const OfferSpec*>& store_offers,
                                                 int64_t now_ms, int max_running,
                                                 int64_t profile_id, bool consent,
                                                 CustomerFacts& facts) {
  std::vector<std::string> out;
  size_t running = 0;
  for (const OfferSpec* o : store_offers) {
    if (out.size() >= kMaxOffersPerList) break;
    const bool runs = o->valid_from_ms <= now_ms;
    if (runs && running >= static_cast<size_t>(std::max(max_running, 0))) continue;
    auto eligible = IsEligible(*o, profile_id, consent, facts);
    if (!eligible.ok()) return eligible.status();
    if (!*eligible) continue;
    out.push_back(o->id);
    running += runs ? 1 : 0;
  }
  return out;
}

}  // namespace cjd::hub::offers
