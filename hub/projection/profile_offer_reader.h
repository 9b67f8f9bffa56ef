// ProfileOfferReader: what the offer planner (hub/offers/offer_planner.h) reads of profiles.db:
// whether a profile is live and has consented to personal offers, the stores it shops in, its
// loyalty ids (keyed hash and sealed value, never the plain id), a store's loyalty customers,
// and the offers a customer redeemed. The projection owns these tables (hub/projection/README.md);
// other modules read them only through functions like these, so the schema can change (or move
// to another engine) behind them. One instance per connection, not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

struct LoyaltyKey {
  std::string key;     // the identifier's keyed hash (IdentityKeys::Key)
  std::string sealed;  // the loyalty id sealed under the identity key
};

// One live profile as the planner ranks offers for it.
struct OfferTarget {
  bool live = false;     // exists and was not merged into another
  bool consent = false;  // attribute "$consent" set: personal offers allowed
  std::vector<std::string> stores;  // stores it shopped in
  std::vector<LoyaltyKey> loyalty;  // its loyalty ids
};

// One (live profile, loyalty id) of a store.
struct StoreLoyaltyCustomer {
  int64_t profile_id = 0;
  LoyaltyKey loyalty;
  bool consent = false;
};

class ProfileOfferReader {
 public:
  // Opens profiles.db read-only; it must exist (the projector creates it first).
  static Result<std::unique_ptr<ProfileOfferReader>> Open(const std::string& profiles_path);

  // A profile that does not exist answers live = false and nothing else.
  Result<OfferTarget> Target(int64_t profile_id);
  // Calls `fn` for each loyalty id of each live profile that shopped in `store`; a non-OK status
  // from `fn` stops the walk and is returned.
  Status ForEachLoyaltyCustomer(const std::string& store,
                                const std::function<Status(const StoreLoyaltyCustomer&)>& fn);
  // Orders of `profile_id` that redeemed `offer_id`.
  Result<int64_t> Redemptions(int64_t profile_id, const std::string& offer_id);
  // Every customer's redemptions of `offer_id` (profile -> orders), for a full round.
  Result<std::unordered_map<int64_t, int64_t>> RedemptionsOf(const std::string& offer_id);

  // A read transaction: the reads between Begin and End see one snapshot even while the
  // projector commits (a merge cannot land between a profile's liveness and its loyalty ids).
  Status BeginSnapshot();
  void EndSnapshot();

 private:
  explicit ProfileOfferReader(std::unique_ptr<sqlite::Database> db)
      : db_(std::move(db)), statements_(*db_) {}

  std::unique_ptr<sqlite::Database> db_;
  sqlite::StatementCache statements_;  // after db_: built from it
  bool in_snapshot_ = false;
};

}  // namespace cjd::hub
