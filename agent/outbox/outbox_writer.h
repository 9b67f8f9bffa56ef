// OutboxWriter: the single writer thread of the outbox, and its group commit. HTTP handlers
// Submit() validated requests; the thread takes every request queued so far, writes them in one
// transaction (one fsync with synchronous=FULL), then calls each request's callback. Requests
// that arrive during a commit form the next group, so the commit rate adapts to the load.
//
// Each request is all-or-nothing: it is refused whole (kFull) when it does not fit in the byte
// budget, and a failed commit fails every request of that group (none of them got a 202).
// Acks from the uplink go through the same thread, so SQLite sees a single writer.
//
// Priorities: a request made only of telemetry (ClassOf == kTelemetry: offer impressions) is
// refused first, before business events are: once the backlog passes 90 % of the budget, or the
// outbox's file system has less than `min_free_bytes` free (SetTelemetryLimits). A full disk
// (SQLITE_FULL from a write or the commit) refuses the group with kFull (507 to the POS, counted in
// refused_disk_full); after a failed commit the thread waits before retrying acks alone (bounded
// backoff, no busy loop), and recovers by itself once space returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/outbox/outbox_store.h"
#include "shared/core/clock.h"
#include "shared/core/status.h"
#include "shared/core/worker_thread.h"

namespace cjd::agent {

struct AppendResult {
  Status status;
  size_t stored = 0;       // events newly stored
  size_t duplicates = 0;   // events whose id had been accepted before
};

struct WriterStats {
  OutboxCounters counters;
  std::vector<OutboxReset> resets;  // the latest, oldest first
  int64_t budget_bytes = 0;
  int64_t accepted_total = 0;   // events acknowledged to clients with 202 (incl. duplicates)
  int64_t refused_full = 0;     // events refused because the budget was full
  int64_t refused_disk_full = 0;  // events refused because the disk was full (SQLITE_FULL)
  int64_t duplicates_total = 0;
  int64_t commits = 0;          // group commits (transactions)
};

class OutboxWriter {
 public:
  using Done = std::function<void(AppendResult)>;

  OutboxWriter(std::unique_ptr<OutboxStore> store, int64_t budget_bytes,
               int64_t dedupe_window_ms, const Clock* clock);
  ~OutboxWriter();  // Stop()s
  OutboxWriter(const OutboxWriter&) = delete;
  OutboxWriter& operator=(const OutboxWriter&) = delete;

  void Start();
  // Finishes every queued request, then joins the thread. Idempotent.
  void Stop();

  // Thread-safe. `done` runs on the writer thread after the commit; it must not block.
  void Submit(std::vector<PendingEvent> events, Done done);
  // Thread-safe. Deletes rows up to `seq` at the next group, when `epoch` is still the outbox's
  // epoch (an ack for another epoch is ignored; false then).
  bool Ack(uint64_t epoch, uint64_t seq);
  // Thread-safe. Starts a new epoch at the next group (OutboxStore::StartNewEpoch), before the
  // requests queued with it; the uplink sees it done when Stats().counters.epoch changes.
  void NewEpoch(std::string reason, std::string detail);
  // Thread-safe. Erasure: rewrites the waiting rows whose body `matches` without their person
  // (OutboxStore::Redact) on the writer thread before the next group; `done` gets the count.
  void Redact(std::function<bool(std::string_view body)> matches,
              std::function<void(Result<int64_t>)> done);
  // Telemetry limits (see the top of this file): `fs_path` is a file or folder on the outbox's
  // file system; `min_free_bytes` 0 disables the free-space check. REQUIRES: before Start().
  void SetTelemetryLimits(std::string fs_path, int64_t min_free_bytes);

  // Thread-safe. Called after every commit that stored new events (the uplink wakes up), with
  // the last sequence number assigned and whether any event of the commit was business (not
  // telemetry) or a new epoch began.
  using OnCommit = std::function<void(uint64_t last_seq, bool business)>;
  void SetOnCommit(OnCommit fn);

  WriterStats Stats() const;

 private:
  struct Request {
    std::vector<PendingEvent> events;
    Done done;
  };
  void Run();
  struct EpochRequest {
    std::string reason;
    std::string detail;
  };
  // False when the group failed (nothing of it committed).
  bool ProcessGroup(std::deque<Request>& group, uint64_t ack,
                    const std::optional<EpochRequest>& new_epoch);
  // Why a telemetry request of `bytes` is refused now, "" when it may be stored.
  std::string TelemetryRefusal(int64_t bytes) const;

  std::unique_ptr<OutboxStore> store_;
  const int64_t budget_bytes_;
  const int64_t dedupe_window_ms_;
  const Clock* clock_;

  WorkerThread worker_;         // its mu() guards what is marked "guarded by mu"
  std::deque<Request> queue_;   // guarded by mu
  uint64_t pending_ack_ = 0;    // guarded by mu (in stats_.counters.epoch)
  std::optional<EpochRequest> new_epoch_;  // guarded by mu
  struct RedactRequest {
    std::function<bool(std::string_view)> matches;
    std::function<void(Result<int64_t>)> done;
  };
  std::vector<RedactRequest> redactions_;  // guarded by mu
  WriterStats stats_;           // guarded by mu (a copy published after each group)
  OnCommit on_commit_;  // guarded by mu
  int64_t last_prune_ms_ = 0;   // writer thread only
  std::string fs_path_;         // set before Start(), then read-only
  int64_t min_free_bytes_ = 0;  // set before Start(), then read-only
};

}  // namespace cjd::agent
