// OutboxStore: the agent's SQLite outbox. Events are committed here before the POS gets its 202,
// and stay until the hub acknowledges them. Also remembers accepted event ids (for a configurable
// window after their ack) so a client retry with the same event_id is never stored twice.
//
// Threading: not thread-safe; owned and used only by the OutboxWriter thread. The uplink reads
// through its own OutboxReader connection (WAL lets readers and the writer proceed together).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shared/core/status.h"
#include "shared/protocol/batch_codec.h"
#include "shared/storage/sqlite.h"

namespace cjd::agent {

// One validated event ready to store: canonical body plus the fields the uplink needs.
struct PendingEvent {
  std::string event_id;
  uint8_t type = 0;
  int64_t occurred_at_ms = 0;
  std::string body;
};

// A reset of the outbox, kept (the last kMaxResetsKept) and reported in the heartbeat.
struct OutboxReset {
  int64_t at_ms = 0;
  std::string reason;     // "corrupt" (the database was moved aside), "restored" (the hub holds
                          // sequences this outbox never assigned), "upgrade" (a pre-epoch outbox)
  std::string detail;     // what was found, and where a damaged file went
  uint64_t epoch = 0;     // the epoch started by the reset
};

struct OutboxCounters {
  uint64_t epoch = 0;             // this outbox's incarnation (batch_codec.h); never 0
  uint64_t last_seq = 0;          // highest sequence ever assigned in this epoch
  uint64_t acked_seq = 0;         // highest sequence the hub acknowledged
  int64_t backlog = 0;            // rows not yet acknowledged
  int64_t backlog_bytes = 0;      // their stored size (see RowBytes)
  int64_t oldest_accepted_ms = 0; // accepted_at of the oldest backlog row, 0 if none
};

class OutboxStore {
 public:
  static constexpr size_t kMaxResetsKept = 20;

  // Opens (or creates) the outbox. A new database gets a fresh random epoch; one written before
  // epochs existed gets one too, its waiting rows renumbered from 1 (reset reason "upgrade").
  static Result<std::unique_ptr<OutboxStore>> Open(const std::string& path, int64_t now_ms = 0);

  // Stored size of one event, as counted against the byte budget (body plus row overhead).
  static int64_t RowBytes(const PendingEvent& e) {
    return static_cast<int64_t>(e.body.size() + e.event_id.size()) + 48;
  }

  Status Begin();
  Status Commit();
  void Rollback();  // also reloads the counters from disk

  // REQUIRES: inside Begin()/Commit(). Stores the events not seen before; `duplicate[i]` is set
  // for events whose id was already accepted (in this call or earlier).
  Status Append(const std::vector<PendingEvent>& events, int64_t now_ms,
                std::vector<bool>* duplicate);
  // REQUIRES: inside Begin()/Commit(). Deletes rows up to `seq` (clamped to last_seq).
  Status AckUpTo(uint64_t seq);
  // REQUIRES: inside Begin()/Commit(). Forgets acknowledged event ids accepted before `before_ms`.
  Status PruneEventIds(int64_t before_ms);
  // REQUIRES: inside Begin()/Commit(). Starts a new random epoch: the rows still waiting for the
  // hub are renumbered 1..n in their order (they are sent again under the new epoch; the hub
  // dedupes by event id), acked_seq becomes 0, and the reset is recorded.
  Status StartNewEpoch(int64_t now_ms, const std::string& reason, const std::string& detail);

  // Erasure (issue 11): rewrites every waiting row whose body `matches` without its person
  // (RedactedEventJson) in one transaction of its own, then empties the WAL so no copy of the
  // old rows is left in it (secure_delete zeroes them in the file). Returns the rows rewritten.
  // REQUIRES: not inside Begin()/Commit().
  Result<int64_t> Redact(const std::function<bool(std::string_view body)>& matches);

  const OutboxCounters& counters() const { return counters_; }
  // The latest resets, oldest first (at most kMaxResetsKept).
  const std::vector<OutboxReset>& resets() const { return resets_; }

 private:
  explicit OutboxStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  Status Prepare();
  Status LoadCounters();
  Status LoadResets();
  Status RefreshOldest();

  std::unique_ptr<sqlite::Database> db_;
  sqlite::Statement insert_id_, insert_row_, set_meta_, delete_rows_, delete_ids_, sum_rows_,
      oldest_;
  OutboxCounters counters_;
  std::vector<OutboxReset> resets_;
};

// A read-only view for the uplink, on its own connection.
class OutboxReader {
 public:
  static Result<std::unique_ptr<OutboxReader>> Open(const std::string& path);
  // Up to `max_events` rows with seq > after_seq in order, stopping once `max_bytes` of bodies
  // are collected (always at least one row when any exists).
  Status ReadBatch(uint64_t after_seq, int64_t max_events, int64_t max_bytes,
                   std::vector<WireEvent>* out);

 private:
  explicit OutboxReader(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<sqlite::Database> db_;
  sqlite::Statement read_;
};

}  // namespace cjd::agent
