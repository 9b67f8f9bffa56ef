// Eraser: carries out erasure requests (issue 11, `POST /v1/privacy/erasures`) on its own thread
// ("privacy"), in the order they were made; pending ones resume after a restart.
//
// The hub part of one request, each step idempotent (a crash between steps repeats them):
//  1. the projection applies what the log holds, then erases the person (Projector::Erase: the
//     profile and every profile merged into it, identifiers, attributes, categories, stores,
//     merge records; events and orders stay as anonymous ones). The change feed takes the
//     person out of every segment and the offer planner drops its assignments, which the kiosks
//     then drop (the planner's tombstones);
//  2. the log's rows of the person are rewritten without the person (HubStore::RedactEvents)
//     and the WAL of hub.db and profiles.db is emptied (secure_delete zeroes the old bytes);
//  3. the devices that must confirm are recorded: every device of every store where the person
//     was seen (kiosks there hold its assignments; tills may hold its unsent events), or every
//     device when no profile held the identifier (its events may still be in an outbox); with
//     "suppress", the keyed hashes of the person's identifiers are kept and the projection
//     drops the person from any later event (which is then redacted in the log as well).
// The device part: each device listed gets a sealed erase command (FrameKind::kErase on its
// down topic, sealed with its downlink key) at once, and again at its next heartbeat while no
// receipt came (at most every kResendAfterMs): an offline device gets it when it reconnects.
// Its sealed receipt (FrameKind::kEraseReceipt, verified by the ingestor) marks it done. After
// the last receipt the hub part runs once more over the person's identifiers (an event that was
// in flight from a device when the hub part ran is erased too), then the identifiers sealed for
// the commands are dropped.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hub/config/hub_config.h"
#include "hub/privacy/erasure_store.h"
#include "hub/projection/projector.h"
#include "hub/store/hub_store.h"
#include "shared/core/clock.h"
#include "shared/core/worker_thread.h"
#include "shared/protocol/erase_command.h"
#include "shared/protocol/keys.h"

namespace cjd::hub::privacy {

class Eraser {
 public:
  // `log` is a write connection of its own to the event store (hub.db).
  Eraser(const HubConfig& config, Projector* projector, std::unique_ptr<HubStore> log,
         std::unique_ptr<ErasureStore> store, const Clock* clock);
  ~Eraser();
  Eraser(const Eraser&) = delete;
  Eraser& operator=(const Eraser&) = delete;

  // Hands the suppressed hashes to the projector. REQUIRES: before the projector starts (its
  // suppression must hold from the first batch), projector->set_on_suppressed_events wired to
  // SuppressedEvents.
  Status LoadSuppression();
  // The vault whose data keys an erasure destroys (crypto-shredding). Set before Start.
  void set_event_vault(std::shared_ptr<EventVault> vault) { vault_ = std::move(vault); }
  // Starts the thread, which resumes pending requests. REQUIRES: the projector started.
  void Start();
  void Stop();

  // A new request, by `identifier` ("TYPE:VALUE") or by `profile_id` (exactly one). kInvalid
  // naming `identifier` for one that does not parse or normalise.
  Result<ErasureRequest> Request(const std::string& identifier, int64_t profile_id, bool suppress);
  Result<std::optional<ErasureRequest>> Get(const std::string& id);
  Result<std::vector<ErasureRequest>> List(int64_t after_seq, int limit);
  // For GET /metrics.
  Result<ErasureStore::Counts> Counts();

  // From the projector (its thread): log rows of suppressed people to redact.
  void SuppressedEvents(std::vector<int64_t> rows);

  // Runs every pending request now, on the caller's thread. For tests and tools.
  Status RunPending();

  // Sends the erase commands (REQUIRES: before Start()); false when the broker did not take one.
  void set_publisher(std::function<bool(const std::string& topic, const std::string& payload)> p) {
    publish_ = std::move(p);
  }
  // From the ingest thread: a device's verified heartbeat (commands it still owes a receipt for
  // are sent again) and a verified receipt. Both only enqueue.
  void DeviceSeen(const std::string& device_id);
  // From the ingest thread, before it acks a device's probe (sent when the device (re)connects,
  // before anything else): the commands the device owes a receipt for are published at once,
  // under `keys`, so they reach it before the ack that lets it send its waiting events.
  // False when not all of them could be published (the caller holds back its ack).
  bool DeviceProbed(const std::string& device_id, const SessionKeys& keys);
  void Receipt(const std::string& device_id, const EraseReceipt& receipt);

  static constexpr int64_t kResendAfterMs = 10'000;
  static constexpr int kSharedPollSeconds = 5;
  static constexpr int64_t kClockMarginMs = 10 * 60'000;

 private:
  void Run();
  // The hub part of one request, up to marking it done.
  struct HubDone {
    std::string id;
    int64_t requested_ms = 0;
    int64_t profile_id = 0;
    int64_t redacted = 0;
    std::vector<std::string> device_ids;
    std::string sealed;
    std::vector<std::string> suppress_keys;
    std::vector<std::string> person_keys;  // with a shared store: every identifier's keyed hash
  };
  Result<HubDone> Process(const ErasureRequest& r, const std::vector<DeviceRow>& devices);
  // The saved progress of a request's hub part (ErasureStore::SaveProgress), sealed.
  std::string ProgressOf(const ErasedPerson& person) const;
  Result<ErasedPerson> PersonFromProgress(const std::string& sealed) const;
  static void Merge(ErasedPerson more, ErasedPerson* into);
  Status RedactQueued();
  // With the store shared by several hub instances (PostgreSQL): requests whose hub part
  // another instance ran, applied to this instance's projection once each (by the keyed hashes
  // of the person's identifiers; suppression too). Requests finished well before profiles.db
  // was made are skipped: the log it was built from was redacted already.
  Status ApplyFinished();
  void TruncateWals();
  Status HandleReceipts();
  // Erases every profile of this projection holding any of `keys` (more than one when profiles
  // were kept apart, or when this instance's merges differ from another's); the erased, in order.
  Result<std::vector<ErasedPerson>> EraseEveryProfileOf(const std::vector<identity::IdKey>& keys);
  // The hub part again over the identifiers sealed in `sealed_values`.
  Status Sweep(const std::string& id, const std::string& sealed_values);
  Result<SessionKeys> DeviceKeys(const std::string& device_id);
  // Publishes the commands `device_id` owes a receipt for (all of them with `now_anyway`, else
  // those not sent for kResendAfterMs). `keys`: the device's, or null to look them up (privacy
  // thread only: log_ and device_keys_ are its own).
  // `all_sent` (may be null): set false when a publish was not taken.
  Status SendOwed(const std::string& device_id, bool now_anyway, const SessionKeys* keys = nullptr,
                  bool* all_sent = nullptr);

  const HubConfig& config_;
  Projector* projector_;
  std::shared_ptr<EventVault> vault_;
  const Clock* clock_;
  identity::NormalizeOptions normalize_;
  std::mutex work_mu_;                  // one request processed at a time
  std::unique_ptr<HubStore> log_;       // guarded by work_mu_
  std::mutex store_mu_;
  std::unique_ptr<ErasureStore> store_;  // guarded by store_mu_
  const bool shared_;                    // the store is shared by hub instances
  int64_t applied_since_ms_ = -1;        // ApplyFinished's lower bound (under work_mu_)
  WorkerThread worker_;
  bool wake_ = false;                    // guarded by worker_.mu()
  std::vector<int64_t> redact_rows_;     // guarded by worker_.mu()
  std::set<std::string> seen_devices_;   // guarded by worker_.mu()
  std::vector<std::pair<std::string, EraseReceipt>> receipts_;  // guarded by worker_.mu()
  std::function<bool(const std::string&, const std::string&)> publish_;
  std::map<std::string, SessionKeys> device_keys_;  // privacy thread (under work_mu_)
};

}  // namespace cjd::hub::privacy
