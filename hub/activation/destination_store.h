// DestinationStore: activation.db, the webhook destinations and their delivery queue (schema in
// hub/activation/README.md). One instance per connection, not thread-safe. The hub has one
// writer (the Activation thread, hub/activation/activation.h) and readers (the HTTP API, each
// request with its own short lock on a reader connection). Other modules read activation.db only
// through the reads below.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub::activation {

// The kinds a destination may ask for.
inline constexpr std::string_view kKinds[] = {"segment.entered", "segment.left",
                                              "profile.merged",  "offer.redeemed",
                                              "erasure.done",    "fleet.alert"};
bool IsKind(std::string_view kind);

struct Destination {
  std::string id;                   // [a-z0-9_-]{1,64}
  std::string url;                  // http://HOST[:PORT][/PATH]
  std::string secret;               // the HMAC key (16..256 bytes)
  std::vector<std::string> events;  // kinds, each once
  std::string segment;              // "" = every segment (segment.* kinds only)
  int64_t created_ms = 0;
  // Audience backfill: members of `segment` with profile_id > this still to enqueue as
  // segment.entered; -1 = done (or none asked).
  int64_t backfill_after = -1;
  // The segments' change log seq and the merge log id when it was created: the feeds give it
  // only what came after (the backfill covers the segment's members before).
  int64_t from_change_seq = 0;
  int64_t from_merge_id = 0;
  int64_t from_redemption_seq = 0;
  bool Wants(std::string_view kind) const;
};

enum class DeliveryStatus { kPending, kDelivered, kFailed };
const char* DeliveryStatusName(DeliveryStatus s);
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view name);

struct Delivery {
  int64_t seq = 0;             // queue order
  std::string id;              // "dlv_" + UUIDv7: the receiver's dedupe key, the same on retries
  std::string destination;
  std::string type;            // a kind
  int64_t occurred_at_ms = 0;
  std::string data;            // the "data" object (JSON text), without personal identifiers
  int64_t profile_id = 0;      // whose identifiers are added when it is sent (0: none)
  DeliveryStatus status = DeliveryStatus::kPending;
  int64_t attempts = 0;
  int64_t next_attempt_ms = 0;
  int last_status = 0;         // HTTP status of the last attempt (0: none or no answer)
  std::string last_error;
  int64_t created_ms = 0;
  std::optional<int64_t> delivered_ms;
  std::optional<int64_t> first_failed_ms;  // start of its current run of failed attempts
};

struct DeliveryCounts {
  int64_t pending = 0, delivered = 0, failed = 0;
};

class DestinationStore {
 public:
  static Result<std::unique_ptr<DestinationStore>> Open(const std::string& path,
                                                        bool read_only = false);

  // --- reads ---
  Result<std::vector<Destination>> List();
  Result<std::optional<Destination>> Get(std::string_view id);
  Result<DeliveryCounts> Counts(std::string_view destination);
  // Deliveries of `destination` with seq > `after` (status filter unless nullopt), in order.
  Result<std::vector<Delivery>> Deliveries(std::string_view destination,
                                           std::optional<DeliveryStatus> status, int64_t after,
                                           int64_t limit);
  // The oldest pending delivery of `destination`, if any.
  Result<std::optional<Delivery>> OldestPending(std::string_view destination);
  // A feed's cursor (0 when never set).
  Result<int64_t> Cursor(std::string_view name);

  // --- writes (the one writer, inside the caller's transaction where several go together) ---
  // Inserts or replaces (keeping its deliveries) a destination. True when it was new.
  Result<bool> Put(const Destination& d);
  // Removes a destination and its deliveries. False when there was none.
  Result<bool> Remove(std::string_view id);
  Status SetBackfill(std::string_view id, int64_t after);
  // After segments.db was rebuilt (its log restarted at `seq`): no destination waits past it.
  Status ClampChangeSeq(int64_t seq);
  Status Enqueue(const Delivery& d);
  Status MarkDelivered(int64_t seq, int status, int64_t at_ms);
  Status MarkAttemptFailed(int64_t seq, int status, std::string_view error, int64_t failed_ms,
                           int64_t next_ms, bool give_up);
  // Drops delivered and failed deliveries finished before `before_ms` (pending ones stay).
  Status PruneDeliveries(int64_t before_ms);
  Status SetCursor(std::string_view name, int64_t value);
  // erasure.done sent for request `id`?
  Result<bool> ErasureReported(std::string_view id);
  Status MarkErasureReported(std::string_view id);
  // The fleet alerts open at the last look: "device_id kind" -> the alert's JSON.
  Result<std::map<std::string, std::string>> OpenAlerts();
  // Records (alert set) or clears (nullopt) an open alert.
  Status SetAlertOpen(std::string_view key, std::optional<std::string> alert);

  sqlite::Database& db() { return *db_; }

 private:
  explicit DestinationStore(std::unique_ptr<sqlite::Database> db)
      : db_(std::move(db)), statements_(*db_) {}
  std::unique_ptr<sqlite::Database> db_;
  sqlite::StatementCache statements_;
};

}  // namespace cjd::hub::activation
