// The Projector: turns the hub's event log into profiles. One thread reads events in log order
// after its cursor, resolves each event's identifiers to a profile (identity::PlanEvent with the
// configured guardrails), applies the plan (new profile, attached identifiers, merges with their
// log records), and keeps the profile's traits and orders current, committing the cursor with
// the changes of each batch (so a crash replays nothing twice and loses nothing).
//
// Events arrive from the device ingest and from POST /v1/collect; both call Nudge() after a
// commit, and the thread also polls, so it never sleeps on a missed wake-up.
//
// Splits (POST /v1/profiles/{id}/split) run on this thread's connection too, under its mutex,
// so the projection has exactly one writer.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hub/config/hub_config.h"
#include "hub/identity/guardrails.h"
#include "hub/identity/merge_log.h"
#include "hub/identity/merge_planner.h"
#include "hub/projection/identity_keys.h"
#include "hub/projection/order_rollups.h"
#include "hub/projection/rfm.h"
#include "hub/projection/rfm_schedule.h"
#include "hub/store/event_log_reader.h"
#include "shared/core/clock.h"
#include "shared/core/worker_thread.h"
#include "shared/event/event.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

struct ProjectorStats {
  int64_t cursor = 0;              // last event log id applied
  int64_t events_applied = 0;      // since start
  int64_t profiles_created = 0;    // since start
  int64_t merges = 0;              // since start
  int64_t refused_identifiers = 0; // guardrails: blocklisted, shared, limits, kept apart
  int64_t invalid_identifiers = 0; // did not normalise (e.g. a phone without country)
  int64_t quarantined_events = 0;  // bodies that did not parse: skipped and counted
};

struct SplitResult {
  int64_t merge_id = 0;       // the merge undone
  int64_t split_id = 0;       // the log record of the split
  int64_t from = 0;           // the profile that held the merged data
  int64_t restored = 0;       // the profile brought back
  int64_t moved_identifiers = 0;
  int64_t moved_events = 0;
};

// A merge the probabilistic matcher (or an operator deciding its review list) asks for.
struct MatchMerge {
  int64_t a = 0, b = 0;     // two profiles (merged ids name their survivors)
  double probability = 0;   // the matcher's P(match) for the pair
  std::string reason = "probabilistic";  // merge_log.reason: "probabilistic" or "review"
};
struct MatchMergeResult {
  int64_t merge_id = 0;     // 0: refused
  int64_t survivor = 0, absorbed = 0;  // the live profiles (smaller id survives)
  // Empty when merged; else "gone" (a profile was erased), "same_profile", "kept_apart" (a split
  // or a review decision separated them) or "limit_<type>" (together they would hold more
  // identifiers of a type than the guardrails allow).
  std::string refused;
};

// What Projector::Erase removed: the person's profile and where its data was.
struct ErasedPerson {
  int64_t profile_id = 0;                // the live profile erased; 0: nobody held the keys
  std::vector<int64_t> profile_ids;      // it and every profile merged into it, sorted
  std::vector<int64_t> event_rowids;     // the log's events that were the person's, sorted
  std::vector<std::string> store_ids;    // the stores where the person was seen, sorted
  std::vector<std::pair<int, std::string>> identifiers;  // (identity::IdType, value) it held
  int64_t orders = 0;                    // orders that stay, now anonymous
};

// The identity policy from the hub config (guardrails, normalisation).
identity::Guardrails MakeGuardrails(const HubConfig& config);

class Projector {
 public:
  Projector(const HubConfig& config, IdentityKeys keys, const Clock* clock);
  ~Projector();
  Projector(const Projector&) = delete;
  Projector& operator=(const Projector&) = delete;

  // Opens profiles.db (migrating it) and starts the thread.
  Status Start();
  // The vault that opens the event log's sealed personal parts (hub/store/event_vault.h). Set
  // before Start; without one, sealed events read as redacted.
  void set_event_vault(std::shared_ptr<EventVault> vault) { vault_ = std::move(vault); }
  void Stop();
  // Wakes the thread: new events were committed.
  void Nudge();
  // Applies everything in the log now (on the caller's thread, under the writer mutex); returns
  // the cursor reached. For tests, tools and benchmarks.
  Result<int64_t> CatchUp();
  // Undoes merge `merge_id` (0: the latest merge into `profile_id` not undone yet).
  // kNotFound when the profile or merge does not exist, kConflict when the merge does not belong
  // to the profile or was undone already.
  Result<SplitResult> Split(int64_t profile_id, int64_t merge_id);
  // Merges pairs the matcher found (hub/matching/profile_matcher.h), in one durable transaction,
  // each through the merge log (reason and probability recorded; a split undoes it and keeps the
  // two apart), refusing as results say. One result per pair, in order.
  Result<std::vector<MatchMergeResult>> MergeMatched(const std::vector<MatchMerge>& merges);
  // Keeps the live profiles of `a` and `b` apart from now on (no merge by events or by the
  // matcher); returns the pair (smaller, larger). kNotFound for an unknown id, kConflict when
  // both are one profile already.
  Result<std::pair<int64_t, int64_t>> KeepApart(int64_t a, int64_t b);

  // Erasure (issue 11). Applies what the log holds, then removes the person from the projection
  // in one transaction: the live profile `profile_id` (a merged id names its survivor; 0: the
  // profile holding any of `keys`) and every profile merged into it lose their rows, identifiers,
  // categories, stores, merge records and kept-apart pairs; their events and orders stay as
  // anonymous ones (store totals and revenue unchanged, the person leaves customer metrics).
  // The change feed names every erased id (segments drop the memberships, the offer planner the
  // assignments). Nobody holding the keys is not an error: profile_id 0 comes back.
  // kNotFound only for a `profile_id` that never existed.
  // `dry_run`: what would be erased, nothing changed (the eraser records it first, so a crash
  // between the erasure and the log's redaction loses nothing it must still redact).
  Result<ErasedPerson> Erase(int64_t profile_id, const std::vector<identity::IdKey>& keys,
                             bool dry_run = false);
  // Copies profiles.db's WAL back and empties it (after erasures: no earlier version of an
  // erased row stays in it). Retries briefly while readers hold old pages; logs when it could
  // not.
  void TruncateWal();
  // Erasures applied to this projection (issue 17: each hub instance applies every request,
  // and its final sweep, to its own profiles.db once), and when profiles.db was made (meta
  // 'created_ms').
  enum class ErasureApplied { kNo, kYes, kAndSwept };
  Result<ErasureApplied> ErasureState(const std::string& erasure_id);
  Status MarkErasureApplied(const std::string& erasure_id, int64_t at_ms, bool swept);
  Result<int64_t> CreatedMs();

  ProjectorStats Stats() const;
  // The RFM model to keep current: computed at Start(), then recomputed on the schedule of
  // rfm_schedule.h ([projection] rfm_refresh_percent, rfm_min_interval_seconds): once enough
  // customers' orders changed, at most every min interval while events flow, at once when the
  // projection goes idle. CatchUp() follows the same threshold (no min interval).
  // REQUIRES: set before Start().
  void set_rfm(RfmModel* rfm) { rfm_ = rfm; }

  // The change feed, for consumers that keep something per profile current (the offer planner,
  // the segment engine). REQUIRES: set before Start().
  //
  // `hook` is called after every successful commit that changed profiles (each batch, also
  // those CatchUp() applies, each Split, and the one-off backfill of migration 4, which names
  // every profile it gave rows) with the sorted, unique ids of every profile
  // whose projected data changed in it: profiles created or touched by an event, the survivor
  // AND the absorbed profile of each merge, both profiles of a split (from, restored), the
  // profile of an order that a later part changed. Never called for a commit that
  // changed no profile (anonymous events only), nor for a rolled-back batch. An absorbed id
  // now redirects to its survivor: read it back through ProfileReader::Profile.
  //
  // Threading: called on the thread that committed (the projector's own thread; the caller's
  // for CatchUp() and Split()) while the writer mutex is held, so calls never overlap and come
  // in commit order. The hook must only record or enqueue: calling back into the Projector
  // deadlocks, and a slow hook holds up the projection.
  void set_on_profiles_changed(std::function<void(const std::vector<int64_t>&)> hook) {
    on_profiles_changed_ = std::move(hook);
  }
  // A narrower feed (same thread and rules): the profiles whose *events* moved in the commit --
  // both profiles of a merge and of a split, and every erased one -- for consumers that keep
  // something per event (journeys); a profile merely touched by a new event is not named.
  // REQUIRES: set before Start().
  void set_on_events_moved(std::function<void(const std::vector<int64_t>&)> hook) {
    on_events_moved_ = std::move(hook);
  }
  // A narrower feed still (same thread and rules): the profiles whose attributes may have
  // changed in the commit -- those an identify event with attributes touched, and every profile
  // named by on_events_moved (merges, splits, erasures) -- for consumers of attributes alone
  // (the probabilistic matcher): a sale does not name its customer here. Called before
  // on_events_moved. REQUIRES: set before Start().
  void set_on_attributes_changed(std::function<void(const std::vector<int64_t>&)> hook) {
    on_attributes_changed_ = std::move(hook);
  }
  // Called (same thread and rules) after each successful RFM recompute: any profile's rfm
  // scores may have moved, without its data changing. REQUIRES: set before Start().
  void set_on_rfm_changed(std::function<void()> hook) { on_rfm_changed_ = std::move(hook); }
  // Called (same thread and rules, after on_rfm_changed) after each RFM recompute that moved
  // some profile's score, with the sorted ids of exactly those profiles (RfmModel::Recompute's
  // `rescored`): the only ones whose RFM-reading segment memberships can change. Not called for
  // the computation at Start() (consumers evaluate everything at their own start).
  // REQUIRES: set before Start().
  void set_on_rfm_rescored(std::function<void(const std::vector<int64_t>&)> hook) {
    on_rfm_rescored_ = std::move(hook);
  }
  const IdentityKeys& keys() const { return keys_; }

  // Suppression (an erasure with "suppress", issue 11): from now on an event carrying any of
  // these keyed hashes is projected without its person (as an anonymous event), and after its
  // batch commits its log id goes to `on_suppressed_events` (same thread and rules as
  // on_profiles_changed), which redacts it in the log. Thread-safe.
  void Suppress(const std::vector<identity::IdKey>& keys);
  // REQUIRES: set before Start().
  void set_on_suppressed_events(std::function<void(std::vector<int64_t>)> hook) {
    on_suppressed_events_ = std::move(hook);
  }

 private:
  Status SealStoredAttributes();
  struct Resolved;
  void Run();
  Result<int64_t> ApplyBatch(int64_t limit);  // events applied, at most `limit`
  Status ApplyEvent(int64_t rowid, const std::string& body, int64_t now_ms);
  Status Prepare();
  Result<int64_t> ProfileOf(const identity::IdKey& key);
  // meta's running totals: added up in memory during a transaction, written by BeforeCommit()
  // (one UPDATE per counter and transaction instead of one per event).
  void Bump(const char* counter, int64_t delta);
  Result<identity::TypeCounts> CountsOf(int64_t profile_id);
  struct MatchReason {
    std::string reason;
    double probability = 0;
  };
  // `match`: a merge of the matcher (null: an event's identifiers linked the two).
  Status MergeInto(int64_t survivor, int64_t absorbed, const identity::MergeRecord& record,
                   int64_t event_rowid, const MatchReason* match = nullptr,
                   int64_t* merge_id_out = nullptr);
  // `fresh`: the profile was inserted by this event and holds nothing yet (not read back).
  Status TouchProfile(int64_t profile_id, const Event& e, bool fresh = false);
  Status RebuildProfile(int64_t profile_id);
  Status ApplyOrder(int64_t rowid, const Event& e, std::optional<int64_t> profile);
  // REQUIRES: the order's row is written. One offer_redemptions row per offer the event's
  // order names (items, order level), with the order's profile and time.
  Status AddRedemptions(const Order& o);
  // +1 per offer the impression lists (once each), added up in memory for the open transaction
  // (pending_impressions_) and written by FlushImpressions(): one upsert per offer and
  // transaction instead of one per offer and event.
  void AddImpressions(const Event& e);
  Status FlushImpressions();
  // REQUIRES: write_mu_ is held. Fills the tables of migration 4 from the events already
  // projected, once (meta 'backfill_offers'), in one transaction.
  Status BackfillOffers();
  // REQUIRES: write_mu_ is held. Records that `profile_id`'s data changes in the open
  // transaction; PublishChanges() hands the set to the hook after the commit.
  void Changed(int64_t profile_id) { changed_.insert(profile_id); }
  void EventsMoved(int64_t profile_id) { events_moved_.insert(profile_id); }
  // REQUIRES: write_mu_ is held. `profile_id`'s orders change in the open transaction (counted
  // by the RFM schedule after the commit).
  void OrdersChanged(int64_t profile_id) { orders_changed_.insert(profile_id); }
  void PublishChanges();
  // REQUIRES: write_mu_ is held. Before a transaction: forgets what an earlier one (rolled back)
  // recorded for the change feeds and the pending totals.
  void ResetPending();
  // The live profile of `profile_id` (itself or its survivor); 0 when there is none (never
  // was, or erased). REQUIRES: write_mu_ is held.
  Result<int64_t> LiveIdOf(int64_t profile_id);

  const HubConfig& config_;
  const IdentityKeys keys_;
  const Clock* clock_;
  identity::NormalizeOptions normalize_;
  identity::Guardrails guardrails_;

  std::mutex write_mu_;  // the one writer: batches and splits
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<EventLogReader> log_;  // hub.db's event log, through the store's reads
  std::shared_ptr<EventVault> vault_;    // opens the log's sealed personal parts
  struct Statements;
  std::unique_ptr<Statements> st_;
  std::unique_ptr<OrderRollupWriter> rollups_;  // the metrics' rollups, in the same transactions
  int64_t cursor_ = 0;
  // Run's batches: [projection] batch, doubled after each full batch while a backlog lasts, up
  // to this many times it.
  static constexpr int64_t kMaxBatchGrowth = 8;
  bool backfill_pending_ = false;  // guarded by write_mu_
  bool backfilling_ = false;       // BackfillOffers re-makes redemptions: not logged again
  RfmModel* rfm_ = nullptr;
  std::function<void(const std::vector<int64_t>&)> on_profiles_changed_;
  std::function<void()> on_rfm_changed_;
  std::function<void(const std::vector<int64_t>&)> on_events_moved_;
  std::function<void(const std::vector<int64_t>&)> on_attributes_changed_;
  std::function<void(const std::vector<int64_t>&)> on_rfm_rescored_;
  template <class T, class KeyOf>
  bool HasSuppressed(const std::vector<T>& items, KeyOf key_of) {
    std::lock_guard lock(suppressed_mu_);
    if (suppressed_.empty()) return false;
    for (const T& item : items) {
      if (suppressed_.count(key_of(item)) > 0) return true;
    }
    return false;
  }
  std::mutex suppressed_mu_;
  std::set<identity::IdKey> suppressed_;  // guarded by suppressed_mu_
  std::vector<int64_t> suppressed_rows_;  // guarded by write_mu_: this batch's suppressed events
  std::function<void(std::vector<int64_t>)> on_suppressed_events_;
  std::set<int64_t> changed_;  // guarded by write_mu_: profiles changed in the open transaction
  std::set<int64_t> orders_changed_;  // guarded by write_mu_: same, for orders
  std::set<int64_t> events_moved_;    // guarded by write_mu_: same, whose events moved
  std::set<int64_t> attributes_touched_;  // guarded by write_mu_: same, given attributes
  RfmSchedule rfm_schedule_;          // guarded by write_mu_
  // After a commit: counts the customers whose orders changed. REQUIRES: write_mu_ is held.
  void CountOrderChanges();
  // REQUIRES: write_mu_ is held, a transaction is open. Writes what the transaction accumulated
  // in memory (the rollups of the profiles whose orders changed, the running totals, the offer
  // impressions) just before its commit; DiscardPending() drops it when a transaction starts.
  Status BeforeCommit();
  void DiscardPending();
  // The running totals the open transaction changed (few: profiles, identifiers, ...).
  std::vector<std::pair<const char*, int64_t>> pending_bumps_;  // guarded by write_mu_
  // The impressions the open transaction counted, per offer id: how many, and the latest time.
  struct PendingImpressions {
    int64_t count = 0;
    int64_t last_ms = 0;
  };
  std::map<std::string, PendingImpressions> pending_impressions_;  // guarded by write_mu_
  void MaybeRecomputeRfm(bool idle);

  mutable std::mutex stats_mu_;
  ProjectorStats stats_;

  bool nudged_ = false;  // guarded by worker_.mu()
  WorkerThread worker_;
};

}  // namespace cjd::hub
