// SegmentEngine: keeps segment membership (segments.db, hub/segments/segment_store.h) current as
// profiles change. One thread, the only writer of segments.db:
//   - ProfilesChanged(ids) queues profiles; the thread reads each one's facts from the
//     projection's tables (ProfileFactsReader, only the groups the rules read; one read snapshot
//     per batch), evaluates every segment rule on them (FactsFromRow: the same facts as
//     FactsFromProfileJson of the profile document) and writes the membership differences, one
//     transaction per batch of at most `segments_chunk` ids. A merged or missing profile leaves
//     every segment. The hub queues the profiles the projector's change feed names, and those
//     whose RFM score a new set of cut points moved (Projector::set_on_rfm_rescored).
//   - A full evaluation walks every live profile of profiles.db by id in chunks, one transaction
//     per chunk (queued ids are served between chunks), and also evaluates the members that are
//     no longer live profiles, so they leave. It runs at Start (catching up whatever changed
//     while the hub was down), when a segment is created or its rule replaced (a pass in progress
//     starts over), on EvaluateAll(), and every `segments_reevaluate_s` (days_since_last_order
//     moves without events). Each segment's evaluated_ms is set when a pass that began under its
//     current rule ends.
// API writes (Put, Delete) run on the caller's thread under the writer mutex, like
// Projector::Split.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hub/config/hub_config.h"
#include "hub/projection/identity_keys.h"
#include "hub/projection/profile_facts.h"
#include "hub/projection/rfm.h"
#include "hub/segments/rule.h"
#include "hub/segments/segment_store.h"
#include "shared/core/clock.h"
#include "shared/core/worker_thread.h"
#include "hub/segments/shared_definitions.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub::segments {

inline constexpr size_t kMaxSegmentIdBytes = 64;
inline constexpr size_t kMaxSegmentNameBytes = 200;
inline constexpr size_t kMaxSegmentDescriptionBytes = 2000;

// Checks a segment id: 1..64 of [a-z0-9_-], not "all" (offers' "everyone"). Field "id".
Status ValidateSegmentId(std::string_view id);

struct SegmentDefinition {
  std::string id;
  std::string rule;         // as written; stored normalised
  std::string name;         // empty: the id
  std::string description;
};

struct PutSegmentResult {
  bool created = false;  // false: an existing segment was updated
  SegmentRow row;
};

struct SegmentEngineStats {
  int64_t segments = 0;
  int64_t evaluations = 0;           // profile evaluations since start
  int64_t full_evaluations = 0;      // full passes completed since start
  int64_t last_full_evaluation_ms = 0;     // duration of the last completed full pass
  int64_t last_full_evaluation_at_ms = 0;  // when it ended (0: none yet)
  int64_t queued = 0;                // profiles waiting
  bool full_evaluation_running = false;
};

class SegmentEngine {
 public:
  // `keys` and `rfm` are the projection's (the facts' RFM scores come from `rfm`); both must
  // outlive the engine. Paths: config.segments_path, config.profiles_path, config.store_path.
  SegmentEngine(const HubConfig& config, const IdentityKeys& keys, const RfmModel* rfm,
                const Clock* clock);
  ~SegmentEngine();
  SegmentEngine(const SegmentEngine&) = delete;
  SegmentEngine& operator=(const SegmentEngine&) = delete;

  // Called on the engine thread after each commit, with every profile evaluated in it (members
  // or not: consent or redemptions may have changed for them too). Must not call Put/Delete.
  // REQUIRES: before Start().
  // The journey stage fields (`journey_stage`, `journey_stage_furthest`: hub/journeys), read
  // from the journeys module for a profile at `now_ms`: (current, furthest) stage names, empty
  // when none. REQUIRES: before Start().
  using StageReader = std::function<std::pair<std::string, std::string>(int64_t, int64_t)>;
  void set_journey_stage(StageReader reader) { stage_reader_ = std::move(reader); }
  // `tracked_events` (hub/journeys): the names of the custom (track) events a profile did,
  // sorted, each once. REQUIRES: before Start().
  using TrackedReader = std::function<std::vector<std::string>(int64_t)>;
  void set_tracked_events(TrackedReader reader) { tracked_reader_ = std::move(reader); }
  // True when some rule reads a journey stage or `tracked_events` (the journeys module then
  // names the persons whose timelines changed, so those rules follow them).
  bool uses_journeys() const { return uses_stage_.load() || uses_tracked_.load(); }
  // The prediction fields (`expected_purchase_days_{N}d`, `p_alive`, `churn_risk`,
  // `predicted_clv_{N}d`: hub/predictions), set on the facts of a profile from the stored
  // predictions (null when it has none). REQUIRES: before Start().
  using PredictionFacts = std::function<Status(int64_t, ProfileFacts*)>;
  void set_prediction_facts(PredictionFacts reader) { prediction_facts_ = std::move(reader); }
  // True when some rule reads a prediction field (a refit then re-evaluates every profile).
  bool uses_predictions() const { return uses_predictions_.load(); }
  void set_on_members_changed(std::function<void(const std::vector<int64_t>&)> hook) {
    on_members_changed_ = std::move(hook);
  }

  // Opens segments.db (migrating it), registers the built-in segments, opens the read
  // connections to profiles.db (which must exist: start the projector first), queues a full
  // evaluation and, unless `thread` is false (tests: drive it with RunPending), starts the thread.
  Status Start(bool thread = true);
  void Stop();

  // Thread-safe and quick: queues the profiles and wakes the thread.
  void ProfilesChanged(const std::vector<int64_t>& ids);
  // Thread-safe: queues a full evaluation (after the one running, if any).
  void EvaluateAll();

  // Creates or updates a segment. kInvalid (field "id", "rule" with ParseRule's position,
  // "name", "description"), kConflict for a built-in id. A new segment or a changed rule starts
  // a full evaluation.
  Result<PutSegmentResult> Put(const SegmentDefinition& def);
  // kNotFound for an unknown id, kConflict for a built-in.
  Status Delete(const std::string& id);

  // Does everything queued (ids, then a whole full evaluation if one is due) on the caller's
  // thread, after what other hub instances defined (several instances). For tests and tools.
  Status RunPending();

  SegmentEngineStats Stats() const;

 private:
  struct Compiled {
    std::string id;
    Rule rule;
    int64_t generation;  // bumped when the rule changes
  };
  struct Pass {
    int64_t cursor = 0;        // last profile id covered
    int64_t started_ms = 0;    // clock ms
    int64_t started_steady_ms = 0;
    std::map<std::string, int64_t> generations;  // segment -> generation at start
  };

  void Run();
  // One step of work: the queued ids, then one chunk of the full pass. Sets *idle when there was
  // nothing to do.
  Status Step(bool* idle);
  // Evaluates `ids` (sorted, unique) in one transaction. REQUIRES: write_mu_ held.
  Status EvaluateBatch(const std::vector<int64_t>& ids);
  // The next chunk of the full pass. REQUIRES: write_mu_ held. Sets *done at the end of the pass.
  Status PassChunk(std::vector<int64_t>* evaluated, bool* done);
  Status LoadSegments();  // REQUIRES: write_mu_ held
  void UpdateNeeds();     // REQUIRES: write_mu_ held
  Status RegisterBuiltins();  // REQUIRES: write_mu_ held
  // Writes `row` (a parsed, checked definition) into segments.db and the rules; true when the
  // rule changed (a full evaluation is due). REQUIRES: write_mu_ held.
  Result<bool> ApplyDefinition(const SegmentRow& row, Rule rule, bool* created);
  // Removes `id` from segments.db and the rules. REQUIRES: write_mu_ held; `id` exists.
  Status RemoveDefinition(const std::string& id);
  // Several instances: copies this instance's own segments into the shared definitions when
  // they are not there (a hub that kept them in segments.db before). REQUIRES: write_mu_ held.
  Status PublishLocal();
  // Several instances: brings segments.db in line with the shared definitions when they changed
  // (what other instances created, changed or deleted). REQUIRES: write_mu_ not held.
  Status Reconcile();
  void RequestRestart();
  void Notify(const std::vector<int64_t>& ids);

  const HubConfig& config_;
  const IdentityKeys& keys_;
  const RfmModel* rfm_;
  const Clock* clock_;
  std::function<void(const std::vector<int64_t>&)> on_members_changed_;
  static constexpr int64_t kChangeLogKeepMs = 7LL * 86'400'000;
  int64_t last_prune_ms_ = 0;  // engine thread
  StageReader stage_reader_;
  TrackedReader tracked_reader_;
  std::atomic<bool> uses_stage_{false};
  std::atomic<bool> uses_tracked_{false};
  PredictionFacts prediction_facts_;
  std::atomic<bool> uses_predictions_{false};

  std::mutex write_mu_;  // the one writer: evaluation batches and API writes
  std::unique_ptr<SegmentStore> store_;              // guarded by write_mu_
  std::unique_ptr<ProfileFactsReader> facts_;        // guarded by write_mu_
  ProfileFactsNeeds needs_;                          // guarded by write_mu_: what rules_ read
  std::unique_ptr<sqlite::Database> profiles_;       // guarded by write_mu_ (the walk)
  std::unique_ptr<sqlite::Statement> live_chunk_;    // guarded by write_mu_
  std::vector<Compiled> rules_;                      // guarded by write_mu_
  int64_t generation_ = 0;                           // guarded by write_mu_
  std::optional<Pass> pass_;                         // guarded by write_mu_
  // Several hub instances on one PostgreSQL (config.store_url): the API's segments, shared.
  std::unique_ptr<SharedSegmentDefinitions> shared_;  // guarded by write_mu_
  // Their version sum as last applied in full (-1: not yet); guarded by write_mu_.
  int64_t shared_applied_sum_ = -1;

  WorkerThread worker_;          // its mu() guards what is marked "guarded by queue_mu"
  std::vector<int64_t> queue_;   // guarded by queue_mu
  bool full_requested_ = false;  // guarded by queue_mu: start a pass after the current one
  bool restart_requested_ = false;  // guarded by queue_mu: start a pass now (rules changed)

  mutable std::mutex stats_mu_;
  SegmentEngineStats stats_;     // guarded by stats_mu_
};

}  // namespace cjd::hub::segments
