// What ProfileReader's translation units share (profile_reader.cpp: the profile document and
// lookups; profile_metrics.cpp: the value metrics; offer_stats.cpp: one offer's figures).
// Not for use outside hub/projection.
#pragma once

#include <cstdint>

#include "shared/storage/sqlite.h"

namespace cjd::hub::reader_internal {

// A read transaction: every query of one answer sees the same snapshot of profiles.db, even while
// the projector commits a batch in between.
// Cached statements are reset at the end, so none keeps an old snapshot open between answers.
class ReadSnapshot {
 public:
  ReadSnapshot(sqlite::Database& db, sqlite::StatementCache& statements)
      : db_(db), statements_(statements), ok_(db.Exec("BEGIN").ok()) {}
  ~ReadSnapshot() {
    statements_.ResetAll();
    if (ok_) (void)db_.Exec("COMMIT");
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  sqlite::Database& db_;
  sqlite::StatementCache& statements_;
  bool ok_;
};

inline double Ratio(int64_t a, int64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}

}  // namespace cjd::hub::reader_internal
