// EventVault: the personal part of the hub's event log, sealed under data keys that an erasure
// destroys (crypto-shredding, issue 11).
//
// An event's canonical JSON is split in two (shared/event/event.h SplitPersonal): the part every
// metric reads (type, times, store, items, totals) stays readable in hub.db's `events.body`; the
// personal part (the customer's identifiers, identify attributes, a card fingerprint) is sealed
// (XChaCha20-Poly1305, bound to the event's source and id) into `events.pii`. The key that seals
// it is derived from one data key per identifier the event carries (`events.pii_keys` lists their
// ids), so destroying the key of any of them makes the sealed part unreadable in every copy of
// hub.db, made at any time, backups included.
//
// Data keys live in keys.db, one row per identifier (its keyed hash, hub/identity/identifier.h,
// the same hash the projection and the eraser use), wrapped by the master key: a 32-byte key in
// its own file (mode 0600), outside every database. `RotateMasterKey` (cjdctl rotate-master-key)
// re-wraps every row under a new master in one transaction while the hub runs: the hub notices the
// change (keys.db's `meta.master` names the master's fingerprint) before it wraps its next key.
//
// With the event store on PostgreSQL (`[store] url`) the data keys live in that database instead
// (`vault_meta`, `vault_keys`), so every hub instance on it opens what any of them sealed. The
// instances then share the master key file and the identity key file (the database records both
// fingerprints and refuses an instance with another), and each drops its cached keys within
// `recheck_interval` (1 s) of another's erasure.
//
// Thread-safe: the ingest thread, the collect handlers, the projector and the profile API share one.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hub/identity/identifier.h"
#include "shared/core/status.h"

namespace cjd::hub {

// One event as stored: `body` without the personal part; `pii` its sealed personal part and
// `pii_keys` the data key ids ("3,17") when it had one, both empty otherwise.
struct VaultedEvent {
  std::string body;
  std::string pii;
  std::string pii_keys;
};

// The reference to the event a sealed part belongs to (bound into the seal).
struct EventRef {
  std::string_view source;
  std::string_view event_id;
};

class VaultKeyTable;  // keys.db, or the PostgreSQL database's vault tables (event_vault.cpp)

class EventVault {
 public:
  struct Options {
    std::string keys_path;        // keys.db
    // A postgresql:// URL: the data keys live in that database (tables vault_meta, vault_keys),
    // shared by every hub instance on it; keys_path is then not used (issue 17).
    std::string database_url;
    std::string master_key_file;  // master.key (created, 0600, when missing and keys.db is new)
    identity::PepperKey pepper{};
    identity::NormalizeOptions normalize;
    size_t cache_entries = 200'000;  // unwrapped keys kept in memory (each ~100 bytes)
    // Keys shared with other instances: how often the vault looks whether one of them destroyed
    // keys (then its caches are dropped).
    std::chrono::milliseconds recheck_interval{1000};
    // database_url when set, else keys_path.
    std::string keys_location() const;
  };

  static Result<std::shared_ptr<EventVault>> Open(Options options);
  ~EventVault();

  // Seals the personal part of each body (canonical event JSON), creating the data keys of new
  // identifiers (one keys.db transaction for the lot). A body that is not an event object, or has
  // no personal part, is kept as it is.
  Status Seal(const std::vector<std::string_view>& bodies, const std::vector<EventRef>& refs,
              std::vector<VaultedEvent>* out);

  // The event's full canonical JSON again. When one of its keys was destroyed, the body marked
  // redacted (RedactedEventJson): the person is gone, the sale stays.
  Result<std::string> Open(const EventRef& ref, std::string_view body, std::string_view pii,
                           std::string_view pii_keys);

  // Destroys the data keys of these identifier hashes (erasure). Their rows are deleted, zeroed
  // in the file (secure_delete) and the WAL emptied. Returns how many existed.
  Result<int64_t> Destroy(const std::vector<identity::IdKey>& identifiers);

  // The number of data keys held (GET /metrics).
  Result<int64_t> KeyCount();
  // Sealed parts that did not open since start (read as redacted; see Open).
  int64_t Unopened() const { return unopened_.load(); }

 private:
  struct DataKey {
    int64_t id = 0;
    std::array<uint8_t, 32> key{};
  };
  EventVault(Options options, std::unique_ptr<VaultKeyTable> table);
  Status LoadMaster();
  // After a failed unwrap: true when keys.db names another master and it was loaded.
  bool ReloadedMaster();
  Result<DataKey> KeyForIdentifier(const identity::IdKey& hash, bool create);
  Result<std::array<uint8_t, 32>> KeyById(int64_t id);
  void Remember(const identity::IdKey& hash, const DataKey& key);
  // Shared keys: drops the caches when another instance destroyed keys (at most once per
  // recheck_interval). Under mu_.
  void Recheck();

  Options options_;
  std::unique_ptr<VaultKeyTable> table_;  // guarded by mu_
  std::mutex mu_;
  std::atomic<int64_t> unopened_{0};
  std::array<uint8_t, 32> master_{};
  std::string master_fingerprint_;
  // Caches of unwrapped keys, cleared whole when full (simple, bounded).
  std::unordered_map<std::string, DataKey> by_hash_;
  std::unordered_map<int64_t, std::array<uint8_t, 32>> by_id_;
  std::string destroyed_seen_;  // the shared table's deletion counter when last looked at
  std::chrono::steady_clock::time_point checked_at_{};
};

// Seals with `vault` (EventVault::Seal), or, without one (tools, tests of other parts), keeps
// every body whole. What both event stores do before they write events.
Status SealEvents(EventVault* vault, const std::vector<std::string_view>& bodies,
                  const std::vector<EventRef>& refs, std::vector<VaultedEvent>* out);

// Re-wraps every data key of keys.db under a new master key (cjdctl rotate-master-key). The new
// key is written to MASTER.next (0600, synced) first, the rows re-wrapped in one transaction, and
// MASTER.next then renamed over MASTER; a run interrupted at any step is completed by the next run
// or by the hub's next start. Returns the number of keys re-wrapped.
// `keys_location`: keys.db's path, or the postgresql:// URL of the database holding the keys.
Result<int64_t> RotateMasterKey(const std::string& keys_location, const std::string& master_key_file);

}  // namespace cjd::hub
