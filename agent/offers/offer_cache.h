// OfferCache: the kiosk's offers, kept in SQLite and served from memory.
//
// The hub sends OfferUpdates (shared/protocol/offer_update.h) on the device's down topic; the
// uplink thread calls Apply(). Each offer, each customer's assignment and the general list is
// applied only when its item version is newer than the one held (last writer wins per item), so
// updates delivered late or twice change nothing. An update is applied in one SQLite transaction
// and only then mirrored in memory: a failed commit leaves both unchanged.
//
// Storage: its own SQLite file (config `offers.path`, default `offers.db` beside the outbox), so
// the outbox keeps its single writer and its schema, and the cache can be deleted to resync.
//   offers      (id PK, title, text, valid_from[_ms], valid_until[_ms], priority,
//                requires_consent, max_per_customer, version, deleted)  -- deleted rows are
//                tombstones that keep their version
//   assignments (customer_key PK, offers = ranked ids joined by ',', version, deleted)
//                customer_key = BLAKE2b-128 of the loyalty id keyed with a secret derived from
//                the device's key (LookupKey): the cache answers by loyalty id without holding
//                one, so a copy of offers.db names nobody (issue 11). The file is opened with
//                secure_delete, so replaced rows leave no bytes behind in free pages.
//   general     (single row: offers, version)
//   meta        (applied_version: the contiguous watermark W of offer_update.h — every item the
//                hub changed up to W is held — reported in the heartbeat as offers_version)
//
// Lookup() never touches SQLite: it hashes the loyalty id and reads the in-memory mirror under a
// shared lock (Apply holds the exclusive lock only while mirroring a committed update). Offer ids
// are interned, so a customer's assignment costs a 16-byte key and a small vector of 32-bit
// slots.
//
// Threading: every method is thread-safe. Apply() calls are serialised.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shared/core/status.h"
#include "shared/protocol/offer_update.h"
#include "shared/storage/sqlite.h"

namespace cjd::agent {

// What the kiosk shows.
struct OfferView {
  std::string id;
  std::string title;
  std::string text;
  std::string valid_until;  // RFC 3339 as the hub sent it
};

struct ApplyStats {
  uint64_t update_version = 0;
  uint64_t applied_version = 0;   // the watermark after this update
  int64_t offers_applied = 0;     // newer than held (incl. deletes)
  int64_t offers_stale = 0;       // not newer: ignored
  int64_t assignments_applied = 0;
  int64_t assignments_stale = 0;
  bool general_applied = false;
};

struct OfferCacheStats {
  uint64_t applied_version = 0;
  int64_t offers = 0;             // live (not deleted) offers held
  int64_t assignments = 0;        // customers with an assignment
  int64_t updates_applied = 0;    // since start
  int64_t updates_rejected = 0;   // since start: did not open, decode or commit
  int64_t impressions_recorded = 0;
  int64_t impressions_dropped = 0;  // outbox full, writer stopping or too many pending
};

class OfferCache {
 public:
  // Opens (creating or migrating) the SQLite file and loads it into memory.
  // `lookup_key`: 32 secret bytes the customer keys are made with (LookupKey of the device's
  // secret key). An offers.db written before customer keys (plain loyalty ids) is migrated by
  // dropping its assignments and its watermark: the hub sends them again.
  static Result<std::unique_ptr<OfferCache>> Open(const std::string& path,
                                                  const std::array<uint8_t, 32>& lookup_key);
  // The cache's lookup key for a device: BLAKE2b-256 keyed with its secret key.
  static std::array<uint8_t, 32> LookupKey(const std::array<uint8_t, 32>& device_secret);
  ~OfferCache();
  OfferCache(const OfferCache&) = delete;
  OfferCache& operator=(const OfferCache&) = delete;

  // Applies `update` item-wise (last writer wins per item) in one transaction. On error nothing
  // is applied (in SQLite or in memory).
  Result<ApplyStats> Apply(const OfferUpdate& update);

  // The offers for `loyalty_id` at `now_ms`, best first: the customer's assignment when they
  // have one (complete, even when nothing in it can be shown now), else the general list (empty
  // id = unknown customer; a removed assignment). Drops unknown and deleted
  // offers and those outside [valid_from, valid_until). Offers with requires_consent are served
  // only from a customer's own assignment (the hub assigns them knowing the consent), never from
  // the general list. Memory only.
  std::vector<OfferView> Lookup(std::string_view loyalty_id, int64_t now_ms) const;

  // Erasure (issue 11): the assignment of `loyalty_id`, if held, is removed (marked deleted at
  // its version, so an older update cannot bring it back; the general list applies) and the
  // WAL emptied. True when a live assignment was removed.
  Result<bool> Forget(std::string_view loyalty_id);

  uint64_t applied_version() const { return applied_version_.load(); }
  OfferCacheStats Stats() const;

  // Counters kept here so the status report has them in one place.
  void CountRejectedUpdate() { updates_rejected_.fetch_add(1); }
  void CountImpression(bool recorded) {
    (recorded ? impressions_recorded_ : impressions_dropped_).fetch_add(1);
  }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using CustomerKey = std::array<uint8_t, 16>;
  struct CustomerKeyHash {  // the key is a keyed hash already: its first 8 bytes will do
    size_t operator()(const CustomerKey& k) const {
      size_t h;
      std::memcpy(&h, k.data(), sizeof h);
      return h;
    }
  };
  struct Ranked {
    uint64_t version = 0;
    bool deleted = false;         // assignments: removed (the general list applies)
    std::vector<uint32_t> slots;  // indexes into offers_, best first
  };

  OfferCache(std::unique_ptr<sqlite::Database> db, const std::array<uint8_t, 32>& lookup_key);
  CustomerKey KeyOf(std::string_view loyalty_id) const;
  Status Prepare();
  Status Load();
  // REQUIRES: mu_ held exclusively (or no reader exists yet).
  uint32_t Slot(const std::string& id);
  // REQUIRES: apply_mu_ held.
  std::vector<uint32_t> SlotsLocked(const std::vector<std::string>& ids);
  const OfferRecord* Held(const std::string& id) const;  // REQUIRES: apply_mu_ held

  // Updates (base, version] applied while their base was above the watermark, until the gap
  // closes. Memory only: after a restart the hub resends from the reported watermark.
  static constexpr size_t kMaxEarlyUpdates = 1024;
  std::multimap<uint64_t, uint64_t> early_;  // guarded by apply_mu_

  std::mutex apply_mu_;                 // serialises Apply(); guards db_ and the statements
  std::unique_ptr<sqlite::Database> db_;
  sqlite::Statement upsert_offer_, upsert_assignment_, upsert_general_, set_meta_;

  mutable std::shared_mutex mu_;        // guards the mirror below (written under apply_mu_ too)
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> index_;
  std::vector<OfferRecord> offers_;     // by slot; version 0 = referenced but never received
  std::unordered_map<CustomerKey, Ranked, CustomerKeyHash> assignments_;
  Ranked general_;
  int64_t live_offers_ = 0;
  int64_t live_assignments_ = 0;

  const std::array<uint8_t, 32> lookup_key_;
  std::atomic<uint64_t> applied_version_{0};
  std::atomic<int64_t> updates_applied_{0};
  std::atomic<int64_t> updates_rejected_{0};
  std::atomic<int64_t> impressions_recorded_{0};
  std::atomic<int64_t> impressions_dropped_{0};
};

}  // namespace cjd::agent
