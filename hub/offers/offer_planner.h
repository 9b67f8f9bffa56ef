// OfferPlanner: decides which offers each store's devices hold and keeps them in sync.
//
// Offers (POST/DELETE /v1/offers) live in the hub's offers.db. From them, the profiles
// (profiles.db: who is known at which store, loyalty ids, consent, redemptions) and segment
// membership (segments.db) the planner derives, per store, the state a kiosk needs:
//   - the offers valid now or later that apply to the store,
//   - the general list (offers for everyone that need no consent, ranked) for unknown customers,
//   - for each loyalty id of a customer known at the store: the customer's ranked list, when it
//     differs from the general list (customers with nothing personal cost nothing on the kiosk).
// Ranking and eligibility are pure functions (offer_ranking.h). The offers themselves are kept
// by OfferCatalogue (offer_catalogue.h), the derived per-store items, versioned, by StoreItems
// (store_items.h: a device's state is "every item of its store up to version W", an update is
// the items in (W, V]), and sending them to each device, with resends after a lost update, by
// DeviceSyncer (device_sync.h). Each of those owns its tables of offers.db; this class reads
// the other modules' tables (profiles.db, segments.db, hub.db's devices) attached read-only.
// Tombstones are dropped once every device of the store holds them.
//
// Recomputation: every store in full when offers change, every `full_interval` (offers that
// expired) and at start; only the changed customers when profiles or memberships change
// (ProfilesChanged, from the segment engine's feed).
//
// Several instances (the hub's store on PostgreSQL, issue 17): the offers are one catalogue in
// the database; every instance plans into its own offers.db, and one at a time sends, the
// holder of the lease `offers.device_sync`; two senders
// with their own numberings would make each device's watermark look foreign to the other and
// each would renumber and resend everything, back and forth. An instance that takes the sending
// over from another numbering (the last sender, recorded in the database: OfferCatalogue::
// LastSender) sends every store whole, numbered above what the devices hold
// (DeviceSyncer::TakeOver); one that was the last sender itself goes on.
//
// Threading: one thread does the planning and the sending, on its own connection (offers.db
// read-write; profiles.db, segments.db and the devices through their modules' read functions,
// and the lease's own PostgreSQL session). API calls (PutOffer, ...)
// run on the caller's thread under the same writer mutex, then wake the thread. ProfilesChanged
// and DeviceStatus only queue and wake.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/config/hub_config.h"
#include "hub/offers/device_sync.h"
#include "hub/offers/offer_catalogue.h"
#include "hub/offers/offer_spec.h"
#include "hub/projection/identity_keys.h"
#include "hub/projection/profile_offer_reader.h"
#include "hub/segments/segment_store.h"
#include "hub/store/hub_store.h"
#include "shared/core/clock.h"
#include "shared/core/worker_thread.h"
#include "shared/protocol/keys.h"
#include "shared/storage/pg_lease.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub::offers {

struct PlannerStats {
  int64_t offers = 0;              // defined and not deleted
  int64_t stores = 0;              // stores with at least one device
  int64_t items = 0;               // store items held (incl. tombstones not yet dropped)
  int64_t full_recomputes = 0;     // since start
  int64_t profile_recomputes = 0;  // customers recomputed since start
  int64_t items_changed = 0;       // since start
  int64_t updates_sent = 0;        // since start (each chunk counts)
  int64_t resends = 0;             // sends from a reported watermark after a lag
  int64_t publish_failures = 0;    // broker down: retried at the next tick
  int64_t devices = 0;
  int64_t devices_current = 0;     // reported watermark >= the store's version
  int64_t last_full_ms = 0;        // when the last full recompute finished
  int64_t last_full_duration_ms = 0;
  // Who sends the devices their offers: "single" (no shared store: this hub), "held" (this
  // instance holds the lease), "standby" (another instance does, or the database is unreachable).
  std::string sync_lease = "single";
  int64_t lease_takeovers = 0;     // since start: times this instance took the sending over
                                   // from another numbering (renumbered, sent whole)
};

struct PlannerOptions {
  std::string offers_path;          // offers.db
  std::string profiles_path;        // read through ProfileOfferReader
  std::string segments_path;        // read through SegmentStore (read-only)
  std::string store_path;           // hub.db or a postgresql:// URL: the devices, through
                                    // HubStore::ListDevices
  int64_t full_interval_ms = 300'000;
  int64_t resend_after_ms = 10'000;
  int64_t tick_ms = 250;            // the thread's longest sleep
  // False: Start() starts no thread; rounds run only in RunOnce() (tests that drive each round
  // must not race a round the thread started on the same wake-up).
  bool run_thread = true;
  int max_offers_per_customer = 10; // ranked list length (<= kMaxOffersPerList)
  size_t chunk_items = 20'000;      // items per update message, at most
  size_t chunk_bytes = 8u << 20;    // and about this many bytes of JSON (the agent opens 32 MiB)
  // Several hub instances on one PostgreSQL (the store's postgresql:// URL; empty: this hub is
  // alone): the offers themselves are kept there, shared (OfferCatalogue::OpenShared; each
  // round rereads them when another instance changed them, at most every `lease_check_ms`), and
  // one instance at a time sends the devices their offers, the holder of the lease
  // `offers.device_sync` (pg::Lease). Every instance plans into its own offers.db; the others
  // send nothing. Each round checks the lease at most every `lease_check_ms`, so an instance
  // that died is replaced within that plus a tick.
  std::string shared_url;
  int64_t lease_check_ms = 2'000;
};
PlannerOptions PlannerOptionsFrom(const HubConfig& config);

class OfferPlanner {
 public:
  // Publishes `payload` on `topic` (QoS 1); false when it could not be handed to the broker.
  using Publisher = DeviceSyncer::Publisher;

  OfferPlanner(PlannerOptions options, const KeyPair& hub_keys, const IdentityKeys& id_keys,
               const Clock* clock);
  ~OfferPlanner();
  OfferPlanner(const OfferPlanner&) = delete;
  OfferPlanner& operator=(const OfferPlanner&) = delete;

  // REQUIRES: before Start().
  void set_publisher(Publisher publisher) { publisher_ = std::move(publisher); }

  // Opens offers.db (migrating it) and its readers of the other modules' files, and starts the
  // thread. profiles.db and segments.db must exist (the projector and the segment engine start
  // first).
  Status Start();
  void Stop();

  // Creates or replaces an offer; the bool is true when it was created (or re-created after a
  // delete). kInvalid (field "segment") when the segment does not exist.
  Result<std::pair<OfferRow, bool>> PutOffer(const OfferSpec& spec);
  // kNotFound when there is no such offer (or it was deleted).
  Result<OfferRow> DeleteOffer(const std::string& id);
  // Live offers by id; `include_deleted` adds the deleted ones.
  Result<std::vector<OfferRow>> ListOffers(bool include_deleted);
  // kNotFound when unknown; deleted offers are found (their stats stay readable).
  Result<OfferRow> GetOffer(const std::string& id);

  // Customers whose data or memberships changed: recomputed at the next tick.
  void ProfilesChanged(const std::vector<int64_t>& profile_ids);
  // A verified heartbeat (JSON) of `device_id`, from the ingest thread.
  void DeviceStatus(const std::string& device_id, const std::string& status_json);

  // Runs one planning and sync round now on the caller's thread (tests, benchmarks).
  Status RunOnce();

  PlannerStats Stats() const;
  std::optional<DeviceOfferSync> DeviceSync(const std::string& device_id) const;

 private:
  struct Desired;
  struct Inputs;
  class PreloadedFacts;
  class LookupFacts;

  void Run();
  Status Round(bool full_requested, std::vector<int64_t> profiles);
  // True when this instance sends the devices their offers now (always without a lease).
  Result<bool> MaySend(int64_t now_ms);
  Result<Inputs> LoadInputs(bool full);
  Status RecomputeAll(const Inputs& in);
  Status RecomputeProfiles(const Inputs& in, const std::vector<int64_t>& ids);
  Result<std::vector<std::string>> RankFor(const Inputs& in, const std::string& store,
                                           int64_t profile_id, bool consent);
  Status WriteItem(const std::string& store, int kind, std::string_view key,
                   std::string_view content, std::optional<int64_t> owner,
                   std::string_view sealed);

  const PlannerOptions options_;
  const KeyPair hub_keys_;
  const IdentityKeys& id_keys_;
  const Clock* clock_;
  Publisher publisher_;

  std::mutex write_mu_;  // the one writer: rounds and API writes
  std::unique_ptr<sqlite::Database> db_;
  // The other modules' data, through the read functions each owns (no ATTACH).
  std::unique_ptr<ProfileOfferReader> profiles_;
  std::unique_ptr<segments::SegmentStore> segments_;
  std::unique_ptr<HubStore> devices_;
  std::unique_ptr<OfferCatalogue> catalogue_;
  std::unique_ptr<StoreItems> items_;
  std::unique_ptr<DeviceSyncer> sync_;
  std::unique_ptr<pg::Lease> lease_;  // several instances: who sends (see PlannerOptions)
  bool sending_ = false;              // this instance holds the lease (as of lease_checked_ms_)
  uint64_t takes_sent_under_ = 0;     // lease_->takes() when this instance last began sending
  std::string numbering_;             // this offers.db's numbering (offers_sender)
  int64_t lease_checked_ms_ = 0;
  int64_t catalogue_checked_ms_ = 0;
  std::map<std::string, std::string> general_;            // store -> general list (joined)
  int64_t last_full_ms_ = 0;
  int64_t next_start_ms_ = INT64_MAX;  // an offer starts then: its lists are re-ranked

  mutable std::mutex stats_mu_;
  PlannerStats stats_;
  std::map<std::string, DeviceOfferSync> sync_view_;  // guarded by stats_mu_

  WorkerThread worker_;
  bool full_requested_ = true;                       // guarded by worker_.mu()
  std::vector<int64_t> changed_;                     // guarded by worker_.mu()
  // A heartbeat's watermark, when it arrived, and the connection it named (will_ms, 0: none).
  struct Report {
    uint64_t watermark = 0;
    int64_t at_ms = 0;
    int64_t connection = 0;
  };
  std::map<std::string, Report> reports_;  // by device id; worker_.mu()
  bool reload_devices_ = false;                      // guarded by worker_.mu()
};

}  // namespace cjd::hub::offers
