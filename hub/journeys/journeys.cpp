#include "hub/journeys/journeys.h"
#include "hub/store/open_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "shared/event/event.h"

namespace cjd::hub::journeys {

Journeys::Journeys(JourneysOptions options)
    : options_(std::move(options)), index_(options_.sessions) {
  index_.set_stage_rules(options_.stages);
}

Journeys::~Journeys() { Stop(); }

Status Journeys::Start() {
  auto store = JourneyStore::Open(options_.path);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  auto profiles = ProfileEventReader::Open(options_.profiles_path);
  if (!profiles.ok()) return profiles.status();
  profiles_ = std::move(*profiles);
  // No vault: the personal parts stay sealed; journeys keeps none of them.
  auto log = OpenEventLogReader(options_.log_path, nullptr);
  if (!log.ok()) return log.status();
  log_ = std::move(*log);
  auto cursor = store_->Cursor();
  if (!cursor.ok()) return cursor.status();
  cursor_ = *cursor;
  cursor_seen_ = cursor_;
  {
    std::unique_lock lock(index_mu_);
    CJD_RETURN_IF_ERROR(store_->ForEach([&](const TouchRecord& t) { index_.Put(t); }));
    index_.Settle();
  }
  spdlog::info("journeys: {} touches of {} persons loaded, log cursor {}", index_.touches(),
               index_.persons(), cursor_);
  worker_.Start("journeys", [this] { Run(); });
  return Status::Ok();
}

void Journeys::Stop() { worker_.Stop(); }

void Journeys::Nudge() {
  {
    std::lock_guard lock(worker_.mu());
    nudged_ = true;
  }
  worker_.Notify();
}

void Journeys::ProfilesChanged(const std::vector<int64_t>& ids) {
  {
    std::lock_guard lock(worker_.mu());
    changed_.insert(changed_.end(), ids.begin(), ids.end());
    nudged_ = true;
  }
  worker_.Notify();
}

void Journeys::Run() {
  std::unique_lock lock(worker_.mu());
  while (true) {
    worker_.WaitFor(lock, std::chrono::milliseconds(200), [&] { return nudged_; });
    if (worker_.stopping()) return;
    nudged_ = false;
    lock.unlock();
    while (!worker_.stopping()) {
      Result<bool> did = Step();
      if (!did.ok()) {
        spdlog::error("journeys: {}", did.status().ToString());
        break;
      }
      if (!*did) break;
    }
    lock.lock();
  }
}

Result<int64_t> Journeys::CatchUp() {
  while (true) {
    Result<bool> did = Step();
    if (!did.ok()) return did.status();
    if (!*did) break;
  }
  std::lock_guard step(step_mu_);
  return cursor_;
}

JourneysStats Journeys::Stats() const {
  JourneysStats s;
  s.cursor = cursor_seen_;
  s.moved = moved_;
  std::shared_lock lock(index_mu_);
  s.touches = static_cast<int64_t>(index_.touches());
  s.persons = static_cast<int64_t>(index_.persons());
  return s;
}

Status Journeys::Reconcile() {
  // Every event read so far against the projection's profile for it now.
  std::vector<std::pair<int64_t, int64_t>> moves;
  {
    std::shared_lock lock(index_mu_);
    CJD_RETURN_IF_ERROR(profiles_->ProfilesOf(0, cursor_, [&](int64_t rowid, int64_t profile) {
      const int64_t held = index_.PersonOf(rowid);
      if (held != 0 && held != profile) moves.emplace_back(rowid, profile);
    }));
  }
  if (moves.empty()) return Status::Ok();
  CJD_RETURN_IF_ERROR(store_->Apply({}, moves, 0));
  std::unique_lock lock(index_mu_);
  for (const auto& [rowid, profile] : moves) index_.Move(rowid, profile);
  index_.Settle();
  moved_ += static_cast<int64_t>(moves.size());
  return Status::Ok();
}

Result<bool> Journeys::Step() {
  std::lock_guard step(step_mu_);
  std::vector<int64_t> changed;
  {
    std::lock_guard lock(worker_.mu());
    changed.swap(changed_);
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());

  CJD_RETURN_IF_ERROR(profiles_->BeginSnapshot());
  struct EndSnapshot {
    ProfileEventReader* r;
    ~EndSnapshot() { r->EndSnapshot(); }
  } end{profiles_.get()};
  if (!reconciled_) {
    CJD_RETURN_IF_ERROR(Reconcile());
    reconciled_ = true;
  }

  // 1. The feed: each named profile's events now, against what the index holds.
  std::vector<std::pair<int64_t, int64_t>> moves;  // (rowid, new profile; 0: nobody)
  if (!changed.empty()) {
    std::unordered_map<int64_t, int64_t> claimed;  // rowid -> profile now
    for (int64_t id : changed) {
      auto rows = profiles_->EventsOf(id);
      if (!rows.ok()) return rows.status();
      for (int64_t r : *rows) claimed[r] = id;
    }
    std::shared_lock lock(index_mu_);
    for (const auto& [rowid, profile] : claimed) {
      if (rowid > cursor_) continue;  // read later, with its profile
      const int64_t held = index_.PersonOf(rowid);
      if (held != 0 && held != profile) moves.emplace_back(rowid, profile);
    }
    for (int64_t id : changed) {
      for (int64_t rowid : index_.RowidsOf(id)) {
        if (claimed.count(rowid) == 0) moves.emplace_back(rowid, 0);  // erased, or moved away
      }
    }
  }

  // 2. New events, up to the projection's cursor.
  auto upto = profiles_->Cursor();
  if (!upto.ok()) return upto.status();
  std::vector<TouchRecord> touches;
  int64_t next_cursor = cursor_;
  if (*upto > cursor_) {
    std::vector<std::pair<int64_t, std::string>> rows;
    CJD_RETURN_IF_ERROR(log_->ReadAfter(cursor_, options_.batch, &rows));
    while (!rows.empty() && rows.back().first > *upto) rows.pop_back();
    if (!rows.empty()) {
      next_cursor = rows.back().first;
      std::unordered_map<int64_t, int64_t> owner;
      CJD_RETURN_IF_ERROR(profiles_->ProfilesOf(cursor_, next_cursor, [&](int64_t r, int64_t p) {
        if (p > 0) owner.emplace(r, p);
      }));
      for (const auto& [rowid, body] : rows) {
        auto it = owner.find(rowid);
        if (it == owner.end()) continue;  // anonymous, or quarantined by the projection
        // Most events' touches are read from a few members; the rest are parsed whole.
        std::optional<TouchRecord> simple = SimpleTouch(body);
        if (!simple) {
          Result<Event> e = EventFromCanonical(body);
          if (!e.ok()) continue;  // the projection counted it as quarantined
          simple = ExtractTouch(*e);
        }
        TouchRecord& t = *simple;
        t.rowid = rowid;
        t.profile_id = it->second;
        touches.push_back(std::move(t));
      }
    }
  }
  if (moves.empty() && next_cursor == cursor_) return false;

  // The feed's moves apply to touches the index holds; a new touch already has its profile.
  CJD_RETURN_IF_ERROR(store_->Apply(touches, moves, next_cursor > cursor_ ? next_cursor : 0));
  {
    std::unique_lock lock(index_mu_);
    for (const TouchRecord& t : touches) index_.Put(t);
    for (const auto& [rowid, profile] : moves) index_.Move(rowid, profile);
    index_.Settle();
  }
  moved_ += static_cast<int64_t>(moves.size());
  if (on_persons_changed_) {
    std::vector<int64_t> persons;
    for (const TouchRecord& t : touches) persons.push_back(t.profile_id);
    for (const auto& [rowid, profile] : moves) {
      if (profile > 0) persons.push_back(profile);
    }
    persons.insert(persons.end(), changed.begin(), changed.end());
    std::sort(persons.begin(), persons.end());
    persons.erase(std::unique(persons.begin(), persons.end()), persons.end());
    if (!persons.empty()) on_persons_changed_(persons);
  }
  cursor_ = next_cursor;
  cursor_seen_ = cursor_;
  return true;
}

nlohmann::json Journeys::WebMetrics(const WebQuery& q, PersonFilter persons) const {
  std::shared_lock lock(index_mu_);
  return index_.WebMetrics(q, persons);
}

nlohmann::json Journeys::Funnel(const FunnelQuery& q, PersonFilter persons,
                                const SegmentMembers* segments,
                                const PersonFeatures* features) const {
  std::shared_lock lock(index_mu_);
  return index_.Funnel(q, persons, segments, features);
}

nlohmann::json Journeys::Retention(RetentionCohort cohort, RetentionPeriod period,
                                   PersonFilter persons) const {
  std::shared_lock lock(index_mu_);
  return index_.Retention(cohort, period, persons);
}

Result<nlohmann::json> Journeys::Attribution(const AttributionQuery& q,
                                             PersonFilter persons) const {
  std::shared_lock lock(index_mu_);
  return index_.Attribution(q, persons);
}

nlohmann::json Journeys::Lifecycle(RetentionPeriod period, bool orders_only,
                                   PersonFilter persons) const {
  std::shared_lock lock(index_mu_);
  return index_.Lifecycle(period, orders_only, persons);
}

nlohmann::json Journeys::Paths(const PathQuery& q, PersonFilter persons) const {
  std::shared_lock lock(index_mu_);
  return index_.Paths(q, persons);
}

std::pair<int, int> Journeys::StageOf(int64_t profile_id, int64_t now_ms) const {
  std::shared_lock lock(index_mu_);
  return index_.StageOf(profile_id, now_ms);
}

std::vector<std::string> Journeys::TrackedEventsOf(int64_t profile_id) const {
  std::shared_lock lock(index_mu_);
  return index_.TrackedEventsOf(profile_id);
}

nlohmann::json Journeys::Stages(RetentionPeriod period, int64_t now_ms,
                                PersonFilter persons) const {
  std::shared_lock lock(index_mu_);
  return index_.Stages(period, now_ms, persons);
}

nlohmann::json Journeys::Timeline(int64_t profile_id) const {
  std::shared_lock lock(index_mu_);
  return index_.Timeline(profile_id);
}

}  // namespace cjd::hub::journeys
