// ReviewStore: matching.db, the in-hub matcher's own file (its only owner: the ProfileMatcher
// writes it, the identity API reads it through this class). It holds the review list: pairs of
// profiles the matcher found likely but not certain enough to merge, and what an operator
// decided. No personal data: profile ids, probabilities, times.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub::matching {

struct ReviewItem {
  int64_t review_id = 0;
  int64_t a = 0, b = 0;      // the two profiles when the pair was found (a < b)
  double probability = 0;    // the matcher's P(match) then
  int64_t created_ms = 0;
  std::string status;        // "pending", "merged" or "kept_apart"
  int64_t decided_ms = 0;    // 0 while pending
  int64_t merge_id = 0;      // merged: the merge log's record
};

class ReviewStore {
 public:
  static Result<std::unique_ptr<ReviewStore>> Open(const std::string& path);

  // Adds the pair (a < b) as pending unless the pair is on the list already (in any state).
  // True when added.
  Result<bool> Add(int64_t a, int64_t b, double probability, int64_t now_ms);
  // The same for many pairs ((a, b), probability) in one transaction; returns how many were added.
  Result<int64_t> AddMany(const std::vector<std::pair<std::pair<int64_t, int64_t>, double>>& pairs,
                          int64_t now_ms);
  Result<std::optional<ReviewItem>> Get(int64_t review_id);
  // Ascending ids above `after`; `status` empty = every state.
  Result<std::vector<ReviewItem>> List(const std::string& status, int64_t after, int limit);
  Status Decide(int64_t review_id, const std::string& status, int64_t merge_id, int64_t now_ms);
  // Removes every item naming one of `profile_ids` (erased profiles).
  Status ForgetProfiles(const std::vector<int64_t>& profile_ids);
  Result<int64_t> CountPending();

 private:
  explicit ReviewStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace cjd::hub::matching
