// ProfileEventReader: what the journeys module (hub/journeys) reads of profiles.db -- the
// projection's cursor, and which live profile each projected event belongs to. The projection
// owns profile_events (README.md); other modules read it only through functions like these, so
// its schema can change (or move to another engine) behind them. One instance per connection,
// not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

class ProfileEventReader {
 public:
  // Opens profiles.db read-only; it must exist (the projector creates it first).
  static Result<std::unique_ptr<ProfileEventReader>> Open(const std::string& profiles_path);

  // A read transaction: the reads between Begin and End see one snapshot while the projector
  // commits (the cursor and the events' profiles agree).
  Status BeginSnapshot();
  void EndSnapshot();

  // The last event log id the projection applied.
  Result<int64_t> Cursor();
  // For each projected event with log id in (after, upto], in id order: its live profile
  // (0: anonymous, or erased).
  Status ProfilesOf(int64_t after, int64_t upto,
                    const std::function<void(int64_t rowid, int64_t profile_id)>& fn);
  // The log ids of every event of live profile `profile_id`, ascending.
  Result<std::vector<int64_t>> EventsOf(int64_t profile_id);

 private:
  explicit ProfileEventReader(std::unique_ptr<sqlite::Database> db)
      : db_(std::move(db)), statements_(*db_) {}
  std::unique_ptr<sqlite::Database> db_;
  sqlite::StatementCache statements_;
  bool in_snapshot_ = false;
};

}  // namespace cjd::hub
