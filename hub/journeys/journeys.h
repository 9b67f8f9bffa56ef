// Journeys: the module that turns the event log into timelines (sessions, touches) and answers
// the journey questions: web and commerce metrics, funnels, retention (README.md).
//
// One thread follows the event log (EventLogReader, its own cursor in journeys.db) up to the
// projection's cursor, and asks the projection which live profile each event belongs to
// (ProfileEventReader): it never reads an event before its person is known, and never opens
// another module's tables. The projection's feed of moved events (ProfilesChanged) names the
// profiles a merge, split or erasure changed; their events are re-read and moved, so a merged person's web
// visits and store sales become one timeline, and an erased person's touches are deleted. At
// start the whole mapping is compared once with the projection (a feed lost in a crash).
//
// The log is read without the event vault: journeys never sees a person's identifiers or
// attributes (a touch keeps time, type, channel, store, URL path, item and property values).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/journeys/journey_index.h"
#include "hub/journeys/journey_store.h"
#include "hub/projection/profile_event_reader.h"
#include "hub/store/event_log_reader.h"
#include "shared/core/status.h"
#include "shared/core/worker_thread.h"

namespace cjd::hub::journeys {

struct JourneysOptions {
  std::string path;           // journeys.db
  std::string profiles_path;  // profiles.db (read-only)
  std::string log_path;       // hub.db (read-only), or the PostgreSQL store's URL
  SessionOptions sessions;
  StageRules stages;
  int batch = 5000;           // log events per transaction
};

struct JourneysStats {
  int64_t cursor = 0;
  int64_t touches = 0;
  int64_t persons = 0;
  int64_t moved = 0;    // touches moved to another person or dropped since start
};

class Journeys {
 public:
  explicit Journeys(JourneysOptions options);
  ~Journeys();
  Journeys(const Journeys&) = delete;
  Journeys& operator=(const Journeys&) = delete;

  // Opens journeys.db (the projection's profiles.db must exist), loads the timelines and starts
  // the thread.
  Status Start();
  void Stop();
  // New events were committed or projected.
  void Nudge();
  // The projection's feed of moved events (Projector::set_on_events_moved: merges, splits,
  // erasures): these profiles' events may belong to another person now.
  void ProfilesChanged(const std::vector<int64_t>& ids);
  // Reads everything the projection has applied, on the caller's thread; returns the cursor.
  Result<int64_t> CatchUp();
  JourneysStats Stats() const;

  // The queries (journey_index.h), under a read lock.
  nlohmann::json WebMetrics(const WebQuery& q, PersonFilter persons) const;
  nlohmann::json Funnel(const FunnelQuery& q, PersonFilter persons,
                        const SegmentMembers* segments,
                        const PersonFeatures* features = nullptr) const;
  nlohmann::json Retention(RetentionCohort cohort, RetentionPeriod period,
                           PersonFilter persons) const;
  nlohmann::json Timeline(int64_t profile_id) const;
  nlohmann::json Lifecycle(RetentionPeriod period, bool orders_only, PersonFilter persons) const;
  nlohmann::json Paths(const PathQuery& q, PersonFilter persons) const;
  std::pair<int, int> StageOf(int64_t profile_id, int64_t now_ms) const;
  // The names of the custom (track) events in a person's timeline, sorted, each once.
  std::vector<std::string> TrackedEventsOf(int64_t profile_id) const;
  nlohmann::json Stages(RetentionPeriod period, int64_t now_ms, PersonFilter persons) const;
  // Called on the journeys thread after each round that changed timelines, with the persons
  // whose touches changed (their stage may have moved). Must only record or enqueue.
  // REQUIRES: before Start().
  void set_on_persons_changed(std::function<void(const std::vector<int64_t>&)> hook) {
    on_persons_changed_ = std::move(hook);
  }
  Result<nlohmann::json> Attribution(const AttributionQuery& q, PersonFilter persons) const;

 private:
  void Run();
  // One round: the feed's moves, then up to `batch` new events. True when it did anything.
  Result<bool> Step();
  Status Reconcile();

  JourneysOptions options_;
  std::unique_ptr<JourneyStore> store_;
  std::unique_ptr<ProfileEventReader> profiles_;
  std::unique_ptr<EventLogReader> log_;
  mutable std::shared_mutex index_mu_;
  JourneyIndex index_;            // guarded by index_mu_
  std::mutex step_mu_;            // one Step at a time (thread or CatchUp)
  int64_t cursor_ = 0;            // under step_mu_
  bool reconciled_ = false;       // under step_mu_
  std::vector<int64_t> changed_;  // guarded by worker_.mu()
  bool nudged_ = false;           // guarded by worker_.mu()
  std::function<void(const std::vector<int64_t>&)> on_persons_changed_;
  std::atomic<int64_t> moved_{0};
  std::atomic<int64_t> cursor_seen_{0};
  WorkerThread worker_;
};

}  // namespace cjd::hub::journeys
