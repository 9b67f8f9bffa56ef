// EventLogReader: the reads of the hub's event log (hub.db's `events` table) that the modules
// derived from it make. The store module owns the table; the projection reads it only through
// these functions (no ATTACH of hub.db), so a PostgreSQL backend implements them once.
//
// The log is append-only: an id handed out once keeps naming the same event, so a reader may read
// ids it learnt from another database (profiles.db) on its own connection, without a snapshot
// shared with that database.
//
// One reader is used by one thread at a time (each user opens its own).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/store/event_vault.h"
#include "shared/core/status.h"

namespace cjd::hub {

// One stored event. The views are valid only during the callback that receives it.
struct LoggedEvent {
  int64_t id = 0;              // the log's row id: the order of arrival at the hub
  std::string_view event_id;
  std::string_view source;     // device id or collect source name
  std::string_view body;       // canonical event JSON
};

class EventLogReader {
 public:
  virtual ~EventLogReader() = default;

  // Up to `limit` events with an id above `after`, in id order, as (id, body).
  virtual Status ReadAfter(int64_t after, int limit,
                           std::vector<std::pair<int64_t, std::string>>* out) = 0;

  // Calls `fn` for each of `ids` the log holds, in the order given (an id it does not hold is
  // skipped). Stops at, and returns, the first error `fn` returns.
  virtual Status Visit(std::span<const int64_t> ids,
                       const std::function<Status(const LoggedEvent&)>& fn) = 0;
};

// The SQLite log at `hub_db_path`, opened read-only: a reader can never write the log, and never
// takes its write lock from ingest and collect. Sealed personal parts are opened with `vault`
// (event_vault.h); an event whose keys were destroyed, or read without a vault, comes back
// marked redacted (RedactedEventJson).
Result<std::unique_ptr<EventLogReader>> OpenSqliteEventLogReader(
    const std::string& hub_db_path, std::shared_ptr<EventVault> vault = nullptr);

}  // namespace cjd::hub
