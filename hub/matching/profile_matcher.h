// ProfileMatcher: the hub's probabilistic identity matching (issue 15, in-hub part). One thread,
// `matching`, that feeds the profiles' matching fields (identify attributes named as in fields.h:
// first_name, last_name, date_of_birth, ...) to the Fellegi–Sunter matcher of this folder and
// acts on what it finds:
//
//   - Fit: the model (m, u, λ, term frequencies) is fitted without labels on every live profile
//     with a matching field (Deduplicate's EM), once at least `min_records` such profiles exist,
//     then again every `refit_interval_ms` or when they grew by `refit_growth_percent` %. After
//     each fit every candidate pair is scored once (a full pass). A due fit waits while an
//     import is landing (more than 100 and 1 % more profiles since the previous check), at
//     most 10 minutes.
//   - Incremental: the projection's attribute feed names the profiles whose attributes may have
//     changed (identify events, merges, splits, erasures; a sale does not); a profile whose
//     matching fields changed (or a new one) is indexed again and compared with its blocks only.
//     An erased profile leaves the index and the review list at once; its values leave the
//     in-memory tables at the next rebuild, which an erasure schedules.
//   - A pair with P(match) >= `merge_threshold` is merged through the projector's merge log
//     (Projector::MergeMatched: reason "probabilistic" and the probability; the guardrails' limits
//     and kept-apart pairs apply; a split undoes it and keeps the two apart). A pair with
//     `review_threshold` <= P < `merge_threshold` goes to the review list (ReviewStore), where an
//     operator merges it or keeps the two apart (Decide()).
//
// Reads of profiles.db go through the projection's read function (ProfileFactsReader); the
// matcher's own state is in memory (rebuilt at start by a scan) plus matching.db (ReviewStore).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/matching/blocking.h"
#include "hub/matching/fellegi_sunter.h"
#include "hub/matching/record.h"
#include "hub/matching/record_table.h"
#include "hub/matching/review_store.h"
#include "hub/projection/identity_keys.h"
#include "hub/projection/profile_facts.h"
#include "hub/projection/projector.h"
#include "shared/core/clock.h"
#include "shared/core/status.h"
#include "shared/core/worker_thread.h"

namespace cjd::hub::matching {

struct MatcherOptions {
  std::string path;           // matching.db
  std::string profiles_path;  // profiles.db (read-only)
  double merge_threshold = 0.99;   // [identity] match_merge_threshold (1: never, review all)
  double review_threshold = 0.5;   // [identity] match_review_threshold
  int64_t min_records = 500;       // [identity] match_min_profiles: the first fit waits for these
  int64_t refit_interval_ms = 24 * 3'600'000;  // [identity] match_refit_hours
  int64_t refit_growth_percent = 20;           // [identity] match_refit_growth_percent
  int64_t check_interval_ms = 2'000;  // how often the thread looks for due work without a nudge
};

struct MatcherStats {
  int64_t records = 0;            // live profiles with a matching field, indexed
  int64_t fits = 0;
  int64_t last_fit_at_ms = 0;
  int64_t last_fit_ms = 0;        // its duration (scan, EM, full pass)
  int64_t last_fit_records = 0;
  int64_t last_fit_candidate_pairs = 0;
  double lambda = 0;              // of the current model; 0: none
  int64_t compared_pairs = 0;     // since start
  int64_t merges = 0;             // since start, by the matcher
  int64_t refused = 0;            // merges the projector refused (kept apart, limits, ...)
  int64_t reviews_added = 0;
  bool fit_waiting = false;       // a fit is due but waits for an import to end
  bool fitting = false;           // a fit (scan, EM, full pass) is running
  std::string last_error;
};

using ReviewPairs = std::vector<std::pair<std::pair<int64_t, int64_t>, double>>;

// The chaining guard (as the batch tool's, cluster.h, but stricter): the proposed merges are
// grouped into the profiles they would make (union-find). A group of more than two profiles is
// merged only when every pair in it is compatible -- `probability(a, b)` (a < b) not a clear
// non-match, >= kGuardProbability (odds 20:1 against) -- and it has at most kMaxGroup profiles;
// otherwise all its pairs go to `reviews` instead. So A ~ B and B ~ C do not make A and C one
// person when A and C clearly differ.
inline constexpr size_t kMaxGroup = 10;
inline constexpr double kGuardProbability = 1.0 / 21;
void GuardChains(std::vector<MatchMerge>* merges, ReviewPairs* reviews,
                 const std::function<double(int64_t, int64_t)>& probability);

// The matching fields of a profile's public attributes (strings as they are, numbers as
// written; other values ignored). False when none of the fields is present.
bool RecordFromAttributes(const nlohmann::json& attributes, Record* record);

class ProfileMatcher {
 public:
  using MergeFn = std::function<Result<std::vector<MatchMergeResult>>(const std::vector<MatchMerge>&)>;
  using KeepApartFn = std::function<Result<std::pair<int64_t, int64_t>>(int64_t, int64_t)>;

  ProfileMatcher(MatcherOptions options, const IdentityKeys& keys, MergeFn merge,
                 KeepApartFn keep_apart, const Clock* clock);
  ~ProfileMatcher();
  ProfileMatcher(const ProfileMatcher&) = delete;
  ProfileMatcher& operator=(const ProfileMatcher&) = delete;

  // Opens matching.db and two read connections to profiles.db (which must exist: start the
  // projector first); starts the thread.
  Status Start();
  void Stop();

  // The projection's attribute feed (Projector::set_on_attributes_changed; thread-safe, quick):
  // queues the ids.
  void ProfilesChanged(const std::vector<int64_t>& ids);
  // Runs the thread's pending work now on the caller's thread (a due fit, the queued profiles).
  // For tests and tools.
  Status RunOnce();

  // The review list and its decisions (the identity API). Thread-safe.
  struct ReviewView {
    ReviewItem item;
    // The live profiles now (a merge since moves an id to its survivor; 0: erased), and their
    // matching fields (JSON object, field name -> value).
    int64_t live_a = 0, live_b = 0;
    nlohmann::json fields_a, fields_b;
  };
  Result<std::vector<ReviewView>> Reviews(const std::string& status, int64_t after, int limit);
  Result<std::optional<ReviewView>> Review(int64_t review_id);
  // decision "merge" or "keep_apart". kNotFound (no such item), kConflict (decided already, or
  // the projector refused: the message says why).
  Result<ReviewView> Decide(int64_t review_id, const std::string& decision);

  MatcherStats Stats() const;
  nlohmann::json StatsJson() const;

 private:
  // P(match) high enough to merge without a review; never with merge_threshold 1 (review all).
  bool AutoMerge(double p) const {
    return options_.merge_threshold < 1.0 && p >= options_.merge_threshold;
  }
  void Run();
  Status Work();                                  // REQUIRES: work_mu_ held
  // Scans every live profile with a matching field and indexes them afresh (the fit's records).
  Status Rebuild(std::vector<int64_t>* ids, std::vector<Record>* records);  // REQUIRES: work_mu_
  Status Fit();                                   // REQUIRES: work_mu_ held
  Status Update(const std::vector<int64_t>& ids); // REQUIRES: work_mu_ held
  // Indexes `record` as profile `profile_id`'s current one; returns its row.
  uint32_t Index(int64_t profile_id, const Record& record);
  void Drop(int64_t profile_id);
  // Scores row `row` against its candidates (only rows below it when `lower_only`), adding
  // merges and reviews to the lists.
  void Score(uint32_t row, bool lower_only, std::vector<MatchMerge>* merges,
             std::vector<std::pair<std::pair<int64_t, int64_t>, double>>* reviews);
  Status Act(const std::vector<MatchMerge>& merges,
             const std::vector<std::pair<std::pair<int64_t, int64_t>, double>>& reviews);
  Result<ReviewView> View(const ReviewItem& item);  // REQUIRES: api_mu_ held

  MatcherOptions options_;
  const IdentityKeys& keys_;
  MergeFn merge_;
  KeepApartFn keep_apart_;
  const Clock* clock_;

  // The thread's state (and RunOnce's).
  std::mutex work_mu_;
  std::unique_ptr<ProfileFactsReader> reader_;  // guarded by work_mu_
  std::optional<Model> model_;                   // guarded by work_mu_
  std::unique_ptr<RecordTable> table_;           // guarded by work_mu_
  std::unique_ptr<BlockingIndex> index_;         // guarded by work_mu_
  std::vector<int64_t> row_profile_;             // guarded by work_mu_: row -> profile (0: dead)
  struct Current {
    uint32_t row = 0;
    uint64_t hash = 0;  // of the record's fields: unchanged fields are not compared again
  };
  std::unordered_map<int64_t, Current> current_;  // guarded by work_mu_: live profile -> row
  int64_t fit_records_ = 0;                       // guarded by work_mu_
  bool rebuild_ = false;                          // guarded by work_mu_: after an erasure
  // Import detection (Work): the records at the last check, when, and whether they grew fast.
  int64_t growth_check_ms_ = 0, growth_check_records_ = 0;  // guarded by work_mu_
  bool importing_ = false;                                  // guarded by work_mu_
  int64_t due_since_ms_ = 0;  // guarded by work_mu_: a fit deferred by an import since then
  std::set<std::pair<int64_t, int64_t>> refused_;  // guarded by work_mu_: until the next fit
  int64_t fit_at_ms_ = 0;                         // guarded by work_mu_
  std::vector<uint32_t> candidates_;              // guarded by work_mu_ (reused)

  // The API's state: matching.db and a read connection of its own.
  mutable std::mutex api_mu_;
  std::unique_ptr<ReviewStore> store_;               // guarded by api_mu_
  std::unique_ptr<ProfileFactsReader> api_reader_;  // guarded by api_mu_

  mutable std::mutex stats_mu_;
  MatcherStats stats_;

  std::set<int64_t> queue_;  // guarded by worker_.mu()
  size_t in_progress_ = 0;   // profiles of the batch being matched now; guarded by worker_.mu()
  WorkerThread worker_;
};

}  // namespace cjd::hub::matching
