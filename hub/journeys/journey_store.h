// JourneyStore: journeys.db, owned by the journeys module alone (other modules read journeys
// through Journeys' query functions). It holds one row per event of the log that belongs to a
// person (`touches`: the fields of touch.h, the live profile) and the log cursor the module has
// read up to, committed with the touches of each batch. Derived from the event log and the
// projection: deleting it rebuilds it from them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hub/journeys/touch.h"
#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub::journeys {

class JourneyStore {
 public:
  static Result<std::unique_ptr<JourneyStore>> Open(const std::string& path);

  // The last log id read.
  Result<int64_t> Cursor();
  // In one transaction: inserts (or re-points) `touches`, re-points `moves` (rowid -> profile;
  // 0 deletes the touch: it belongs to nobody now), and sets the cursor to `cursor` (when > 0).
  Status Apply(std::span<const TouchRecord> touches,
               std::span<const std::pair<int64_t, int64_t>> moves, int64_t cursor);
  // Every touch, in rowid order.
  Status ForEach(const std::function<void(const TouchRecord&)>& fn);
  // Empties the WAL (after erasures). False when readers kept it busy.
  Result<bool> TruncateWal() { return db_->TruncateWal(); }

 private:
  explicit JourneyStore(std::unique_ptr<sqlite::Database> db)
      : db_(std::move(db)), statements_(*db_) {}
  std::unique_ptr<sqlite::Database> db_;
  sqlite::StatementCache statements_;
};

}  // namespace cjd::hub::journeys
