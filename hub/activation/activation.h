// Activation: what the hub learns, pushed to the tools marketing already runs (issue 16).
// One thread, `activation`, that
//   - follows the hub's own feeds and turns them into deliveries for the destinations that ask
//     for them, in one activation.db transaction with the feed's cursor (so each is enqueued
//     exactly once, even across a crash):
//       segment.entered / segment.left  the segments' change log (SegmentStore::ChangesAfter)
//       profile.merged                  the projection's merge log (ProfileReader::MergesAfter)
//       offer.redeemed                  the projection's redemption log (RedemptionsAfter)
//       erasure.done                    the privacy module's requests (ErasureStore::List), once
//                                       each is done on the hub and every device
//       fleet.alert                     GET /v1/alerts, looked at every 10 s: an alert raised
//                                       ("state": "raised") and cleared ("resolved")
//     and, for a destination created for one segment, that segment's current members as
//     segment.entered with "backfill": true (the audience's initial sync), in pages of 500;
//   - delivers: per destination, oldest first, one POST per delivery of
//       {"id", "type", "occurred_at", "data": {...}}
//     signed with X-CJD-Signature: sha256=<hex HMAC-SHA256 of the body under the secret>. A 2xx
//     answer delivers it; anything else (or no answer within [activation] timeout_ms) is retried
//     after 1, 2, 4, ... s (at most [activation] max_backoff_s), and the destination's later
//     deliveries wait behind it, so a receiver that was down gets everything, in order, once
//     it is back. After [activation] give_up_hours a delivery is marked failed and the next one
//     goes. At least once: a receiver dedupes on "id", which a retry keeps.
// A delivery names a profile by id; its identifiers (unsealed) are read from the projection when
// it is sent, so activation.db holds no personal data and an erased profile's later deliveries
// carry no identifiers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/activation/destination_store.h"
#include "hub/config/hub_config.h"
#include "hub/projection/identity_keys.h"
#include "shared/core/clock.h"
#include "shared/core/status.h"
#include "shared/core/worker_thread.h"

namespace cjd::hub {
class ProfileReader;
namespace segments {
class SegmentStore;
}
namespace privacy {
class ErasureStore;
}
}  // namespace cjd::hub

namespace cjd::hub::activation {

// "sha256=" + lower-case hex HMAC-SHA256 of `body` under `secret` (libsodium).
std::string Signature(std::string_view secret, std::string_view body);

class Activation {
 public:
  Activation(const HubConfig& config, const IdentityKeys& keys, const Clock* clock);
  ~Activation();
  Activation(const Activation&) = delete;
  Activation& operator=(const Activation&) = delete;

  // Opens activation.db (creating it), the read connections to segments.db and profiles.db
  // (start the segment engine and the projector first), and unless `thread` is false (tests:
  // RunOnce) starts the thread. A new activation.db starts its feeds at their current ends.
  Status Start(bool thread = true);
  void Stop();
  // One round on the caller's thread: the feeds, the backfills, then every due delivery (each
  // part runs even when another failed; the first error is returned).
  Status RunOnce();
  // Runs a round soon (a new destination).
  void Wake();
  // The fleet alerts now (GET /v1/alerts' document), for fleet.alert. REQUIRES: before Start().
  void set_alerts_source(std::function<Result<nlohmann::json>()> source) {
    alerts_source_ = std::move(source);
  }

  // For the API (thread-safe). Put: kInvalid (field "segment") for an unknown segment.
  Result<bool> Put(Destination d);
  Result<bool> Remove(const std::string& id);
  Result<std::vector<Destination>> List();
  Result<std::optional<Destination>> Get(const std::string& id);
  Result<DeliveryCounts> Counts(const std::string& id);
  Result<std::vector<Delivery>> Deliveries(const std::string& id,
                                           std::optional<DeliveryStatus> status, int64_t after,
                                           int64_t limit);
  nlohmann::json StatsJson();

 private:
  void Run();
  Status Feeds();
  Status ErasureFeed(const std::vector<Destination>& dests);
  Status AlertFeed(const std::vector<Destination>& dests);
  Status Backfills();
  Status Deliver();
  // Posts `d` to `dest`: the HTTP status (0: none) and an error text ("" on 2xx).
  std::pair<int, std::string> Send(const Destination& dest, const Delivery& d);
  Status EnqueueFor(const std::vector<Destination>& dests, const std::string& kind,
                    const std::string& segment, int64_t profile_id, int64_t occurred_ms,
                    const nlohmann::json& data, int64_t change_seq = 0, int64_t merge_id = 0,
                    int64_t redemption_seq = 0);

  const HubConfig config_;
  const IdentityKeys keys_;
  const Clock* clock_;
  std::mutex mu_;  // guards the connections below (short holds; never during a POST)
  std::unique_ptr<DestinationStore> store_;
  std::unique_ptr<segments::SegmentStore> segments_;
  std::unique_ptr<ProfileReader> profiles_;
  std::unique_ptr<privacy::ErasureStore> erasures_;
  std::function<Result<nlohmann::json>()> alerts_source_;
  int64_t last_alerts_ms_ = 0;  // activation thread
  int64_t delivered_ = 0, failed_attempts_ = 0, round_errors_ = 0;  // since start, under mu_
  int64_t last_prune_ms_ = 0;  // activation thread
  bool wake_ = false;          // guarded by worker_.mu()
  WorkerThread worker_;
};

}  // namespace cjd::hub::activation
