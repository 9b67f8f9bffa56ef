// ProfileReader: the read side of the projection for the HTTP API — profiles (identifiers,
// attributes, traits, latest events) and the value metrics. One instance per connection (and
// one read-only connection to the event log, for the bodies of the latest events, through the
// store's EventLogReader); the API guards it with a mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "hub/identity/identifier.h"
#include "hub/projection/identity_keys.h"
#include "hub/projection/rfm.h"
#include "hub/store/event_log_reader.h"
#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

struct MetricsQuery {
  std::string from;      // YYYY-MM or YYYY-MM-DD, inclusive (order's local date); empty: open
  std::string to;        // exclusive; empty: open
  std::string store;     // empty: every store
  std::string channel;   // empty: every channel
  std::string currency;  // empty: the currency with the most orders
  int top = 10;
};

// Checks the query's values (field names the parameter).
Status ValidateMetricsQuery(const MetricsQuery& q);

// The one read of orders behind Metrics: every order, each customer's in (currency, local date)
// order. Exposed so a test can check its plan (a covering index, no temporary B-tree).
extern const char* const kMetricsOrdersQuery;
// The read of one store's orders in a range, behind top customers (index orders_by_store_day).
extern const char* const kMetricsRangeOrdersQuery;
// One customer's orders in a range, for the returns of a top customer (index orders_by_profile).
extern const char* const kMetricsCustomerRangeReturnsQuery;

class ProfileReader {
 public:
  static Result<std::unique_ptr<ProfileReader>> Open(const std::string& profiles_path,
                                                     const std::string& log_path,
                                                     const IdentityKeys& keys,
                                                     const RfmModel* rfm,
                                                     std::shared_ptr<EventVault> vault = nullptr);

  // The profile as JSON; a merged profile answers with its survivor ("redirected_from").
  // `events_limit` latest events, before event row `events_before` (0: the newest).
  Result<nlohmann::json> Profile(int64_t profile_id, int events_limit, int64_t events_before,
                                 int64_t now_ms);
  // The live profile holding identifier `key`; kNotFound when none.
  Result<int64_t> FindByIdentifier(const identity::IdKey& key);
  // GET /v1/metrics, from the rollups the projector keeps (order_rollups.h): the cost grows with
  // the days and months of the range, not with the orders (but the top customers of a range
  // that leaves some orders out, which read that range's orders).
  Result<nlohmann::json> Metrics(const MetricsQuery& q);
  // The same answer from one read of every order (kMetricsOrdersQuery): the reference the
  // rollups are checked against (tests, cjd-bench metrics).
  Result<nlohmann::json> MetricsByScan(const MetricsQuery& q);
  // Figures for /v1/stats: profiles live, merged, identifiers, orders.
  Result<nlohmann::json> Counts();
  // One offer's figures (served by GET /v1/offers/{id}/stats; README.md has the JSON): its
  // impressions, the orders that redeemed it and their gross revenue. An offer nobody saw or
  // redeemed answers with zeros, not kNotFound (the projection does not know the offer
  // catalogue). kInvalid (field "offer_id") when `offer_id` is empty or over 64 characters.
  Result<nlohmann::json> OfferStats(const std::string& offer_id);
  // The profile's identifiers as the profile document lists them ([{"type", "value",
  // "attached_at"}], by type then time), values unsealed; [] for a profile that holds none
  // (merged, erased or unknown).
  Result<nlohmann::json> Identifiers(int64_t profile_id);
  // Merges (not splits) of the merge log with merge_id > `after`, in order, at most `limit`
  // (hub/activation's profile.merged feed).
  struct MergeRecord {
    int64_t merge_id = 0;
    int64_t survivor = 0;
    int64_t absorbed = 0;
    std::string reason;                 // identifier | probabilistic | review
    std::optional<double> probability;  // the matcher's, for probabilistic and review
    int64_t at_ms = 0;
  };
  Result<std::vector<MergeRecord>> MergesAfter(int64_t after, int64_t limit);
  // The newest merge_id (0: none).
  Result<int64_t> LastMergeId();
  // Redemptions logged with seq > `after` (redemption_log), in order, at most `limit`, each with
  // the order's current profile (0: anonymous or erased) (hub/activation's offer.redeemed).
  struct RedemptionRecord {
    int64_t seq = 0;
    std::string offer_id;
    std::string order_id;
    int64_t profile_id = 0;
    int64_t at_ms = 0;
  };
  Result<std::vector<RedemptionRecord>> RedemptionsAfter(int64_t after, int64_t limit);
  Result<int64_t> LastRedemptionSeq();

 private:
  ProfileReader(std::unique_ptr<sqlite::Database> db, std::unique_ptr<EventLogReader> log,
                const IdentityKeys& keys, const RfmModel* rfm)
      : db_(std::move(db)), statements_(*db_), log_(std::move(log)), keys_(keys), rfm_(rfm) {}
  Result<nlohmann::json> Traits(int64_t profile_id, int64_t now_ms);

  std::unique_ptr<sqlite::Database> db_;
  sqlite::StatementCache statements_;  // after db_: built from it
  std::unique_ptr<EventLogReader> log_;
  const IdentityKeys& keys_;
  const RfmModel* rfm_;
};

}  // namespace cjd::hub
