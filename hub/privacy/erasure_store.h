// ErasureStore: the hub's rights requests (issue 11), in their own file (privacy.db, `[privacy]
// path`) or, for a hub whose store is in PostgreSQL (issue 17), in that database (tables
// privacy_erasures, privacy_erasure_devices, privacy_suppressed; migrations module `privacy`),
// shared by every instance. This module owns its tables; other modules call these functions (no
// ATTACH).
//
// Nothing here is personal in plain text: the identifier a request names is kept as its keyed
// hash (what suppression needs) and, until every device has answered, sealed under the hub's
// identity key (the devices' erase commands carry the values); a request done everywhere keeps
// only its hashes and figures.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/status.h"

namespace cjd::hub::privacy {

struct ErasureDevice {
  std::string device_id;
  bool done = false;
  int64_t sent_ms = 0;   // last erase command sent (0: not yet)
  int64_t done_ms = 0;   // receipt verified
};

struct ErasureRequest {
  std::string id;                 // "era_" + 20 hex digits
  int64_t seq = 0;                // the order requests were made in (paging)
  int subject_type = -1;          // identity::IdType of the identifier asked for; -1: by profile
  std::string subject_key;        // its 16-byte keyed hash (empty: by profile id)
  int64_t profile_id = 0;         // the profile asked for (0: by identifier)
  bool suppress = false;
  int64_t requested_ms = 0;
  int64_t deadline_ms = 0;
  bool hub_done = false;
  int64_t hub_done_ms = 0;
  int64_t erased_profile = 0;     // the live profile erased on the hub (0: nobody held it)
  int64_t events_redacted = 0;    // rows of the event log rewritten without the person
  std::vector<ErasureDevice> devices;  // the devices that must confirm (known once hub_done)

  bool done() const;              // hub and every device done
  int64_t done_ms() const;        // when the last part finished (0 while pending)
};

class ErasureStore {
 public:
  // `location`: a SQLite file's path or a postgresql:// URL.
  static Result<std::unique_ptr<ErasureStore>> Open(const std::string& location);
  ~ErasureStore();
  ErasureStore(const ErasureStore&) = delete;
  ErasureStore& operator=(const ErasureStore&) = delete;

  // A new request (hub part pending); returns its seq. `sealed_subject` is the sealed
  // identifier value (empty when asked by profile id). kConflict for an id in use.
  Result<int64_t> Add(const ErasureRequest& request, const std::string& sealed_subject);
  Result<std::optional<ErasureRequest>> Get(const std::string& id);
  // Requests with seq above `after_seq`, oldest first, at most `limit`.
  Result<std::vector<ErasureRequest>> List(int64_t after_seq, int limit);
  // Requests whose hub part is pending, oldest first (resumed after a restart).
  Result<std::vector<ErasureRequest>> HubPending();
  // What the hub part found before changing anything (sealed; empty when none was saved).
  // Dropped when the hub part is done.
  Status SaveProgress(const std::string& id, const std::string& sealed);
  Result<std::string> Progress(const std::string& id);
  // The sealed identifier the request named (empty when asked by profile id).
  Result<std::string> SealedSubject(const std::string& id);

  // The hub part is done: figures, the devices that must confirm (each pending), the person's
  // identifiers sealed for their commands (dropped once every device is done; `sealed_values`
  // empty when no device must confirm), with suppress the keyed hashes to keep, and the keyed
  // hashes of every identifier the person held (`person_keys`, for the instances that did not
  // run the hub part: HubDoneSince). kNotFound when the hub part was done already (by another
  // instance: only one CompleteHub of a request lands).
  Status CompleteHub(const std::string& id, int64_t done_ms, int64_t erased_profile,
                     int64_t events_redacted, const std::vector<std::string>& device_ids,
                     const std::string& sealed_values, const std::vector<std::string>& suppress_keys,
                     const std::vector<std::string>& person_keys);
  // Requests whose hub part was done, or whose final sweep ran, at or after `since_ms`, in the
  // order of hub_done_ms, each with the keyed hashes of the person's identifiers: what a hub
  // instance applies to its own projection when another instance ran them (issue 17).
  struct Finished {
    std::string id;
    int64_t hub_done_ms = 0;
    int64_t swept_ms = 0;  // 0: no final sweep yet
    bool suppress = false;
    std::vector<std::string> keys;  // 16-byte keyed hashes
  };
  Result<std::vector<Finished>> HubDoneSince(int64_t since_ms);
  // True when the tables are in PostgreSQL, shared by several hub instances.
  bool shared() const { return shared_; }
  struct Owed {
    std::string erasure_id;
    std::string sealed_values;
    int64_t sent_ms = 0;
  };
  // Erase commands still owed to `device_id` (no receipt yet), oldest first.
  Result<std::vector<Owed>> OwedTo(const std::string& device_id);
  // Every device that still owes a receipt.
  Result<std::vector<std::string>> DevicesOwing();
  Status MarkSent(const std::string& id, const std::string& device_id, int64_t sent_ms);
  // The device's receipt. False when the request does not name the device or it was done
  // already.
  Result<bool> DeviceDone(const std::string& id, const std::string& device_id, int64_t done_ms);
  // The sealed values of a request every device has confirmed (empty: not all confirmed yet,
  // or dropped already), and DropValues once nothing needs them (after the final sweep, at
  // `swept_ms`, which HubDoneSince reports to the other instances).
  Result<std::string> ValuesIfAllDone(const std::string& id);
  Status DropValues(const std::string& id, int64_t swept_ms);

  struct Counts {
    int64_t requests = 0;        // ever made
    int64_t hub_pending = 0;     // hub part not done
    int64_t pending = 0;         // not done (hub part or a device's receipt missing)
    int64_t overdue = 0;         // not done, past their deadline at `now_ms`
    int64_t receipts_owed = 0;   // (request, device) pairs without a receipt
  };
  Result<Counts> Count(int64_t now_ms);

  // Every suppressed keyed hash (16 bytes each).
  Result<std::vector<std::string>> SuppressedKeys();

 private:
  class Tables;
  class SqliteTables;
  class PgTables;
  ErasureStore(std::unique_ptr<Tables> tables, bool shared);

  std::unique_ptr<Tables> tables_;
  bool shared_ = false;
};

}  // namespace cjd::hub::privacy
