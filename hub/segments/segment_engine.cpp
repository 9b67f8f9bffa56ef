#include "hub/segments/segment_engine.h"


#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <limits>
#include <set>

#include "hub/segments/builtin.h"
#include "hub/segments/fields.h"
#include "hub/segments/facts.h"
#include "hub/segments/table_facts.h"

namespace cjd::hub::segments {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool IsBuiltinId(std::string_view id) {
  for (const BuiltinSegment& b : BuiltinSegments()) {
    if (b.id == id) return true;
  }
  return false;
}

// A segment as the shared definitions keep it (several instances), and back.
SharedDefinition ToShared(const SegmentRow& row) {
  SharedDefinition d;
  d.id = row.id;
  d.name = row.name;
  d.description = row.description;
  d.rule = row.rule;
  d.created_ms = row.created_ms;
  d.updated_ms = row.updated_ms;
  return d;
}

SegmentRow FromShared(const SharedDefinition& d) {
  SegmentRow row;
  row.id = d.id;
  row.name = d.name;
  row.description = d.description;
  row.rule = d.rule;
  row.created_ms = d.created_ms;
  row.updated_ms = d.updated_ms;
  return row;
}

}  // namespace

Status ValidateSegmentId(std::string_view id) {
  if (id.empty() || id.size() > kMaxSegmentIdBytes) {
    return Status::Invalid("must be 1 to 64 characters of a-z, 0-9, _ and -", "id");
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return Status::Invalid("must be 1 to 64 characters of a-z, 0-9, _ and -", "id");
  }
  if (id == "all") {
    return Status::Invalid("\"all\" is reserved (offers use it for every customer)", "id");
  }
  return Status::Ok();
}

SegmentEngine::SegmentEngine(const HubConfig& config, const IdentityKeys& keys,
                             const RfmModel* rfm, const Clock* clock)
    : config_(config), keys_(keys), rfm_(rfm), clock_(clock) {}

SegmentEngine::~SegmentEngine() { Stop(); }

Status SegmentEngine::Start(bool thread) {
  {
    std::lock_guard lock(write_mu_);
    auto store = SegmentStore::Open(config_.segments_path);
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    auto facts = ProfileFactsReader::Open(config_.profiles_path, keys_, rfm_);
    if (!facts.ok()) return facts.status();
    facts_ = std::move(*facts);
    sqlite::OpenOptions ro;
    ro.read_only = true;
    auto profiles = sqlite::Database::Open(config_.profiles_path, ro);
    if (!profiles.ok()) return profiles.status();
    profiles_ = std::move(*profiles);
    auto chunk = profiles_->Prepare(
        "SELECT profile_id FROM profiles WHERE merged_into IS NULL AND profile_id > ?1 "
        "ORDER BY profile_id LIMIT ?2");
    if (!chunk.ok()) return chunk.status();
    live_chunk_ = std::make_unique<sqlite::Statement>(std::move(*chunk));
    CJD_RETURN_IF_ERROR(RegisterBuiltins());
    CJD_RETURN_IF_ERROR(store_->RecountMembers());
    CJD_RETURN_IF_ERROR(LoadSegments());
    if (!config_.store_url.empty()) {
      auto shared = SharedSegmentDefinitions::Open(config_.store_url);
      if (!shared.ok()) return shared.status();
      shared_ = std::move(*shared);
      CJD_RETURN_IF_ERROR(PublishLocal());
    }
  }
  // What the other instances defined, before the first evaluation.
  if (shared_) CJD_RETURN_IF_ERROR(Reconcile());
  {
    std::lock_guard lock(worker_.mu());
    restart_requested_ = true;  // catch up on whatever changed while we were down
  }
  if (thread) worker_.Start("segments", [this] { Run(); });
  return Status::Ok();
}

void SegmentEngine::Stop() {
  worker_.Stop();
  std::lock_guard lock(write_mu_);
  live_chunk_.reset();
  profiles_.reset();
  facts_.reset();
  store_.reset();
}

void SegmentEngine::ProfilesChanged(const std::vector<int64_t>& ids) {
  if (ids.empty()) return;
  {
    std::lock_guard lock(worker_.mu());
    queue_.insert(queue_.end(), ids.begin(), ids.end());
  }
  worker_.Notify();
}

void SegmentEngine::EvaluateAll() {
  {
    std::lock_guard lock(worker_.mu());
    full_requested_ = true;
  }
  worker_.Notify();
}

void SegmentEngine::RequestRestart() {
  {
    std::lock_guard lock(worker_.mu());
    restart_requested_ = true;
  }
  worker_.Notify();
}

Status SegmentEngine::RegisterBuiltins() {
  const int64_t now = clock_->NowMillis();
  sqlite::Transaction tx(store_->db());
  CJD_RETURN_IF_ERROR(tx.status());
  int64_t position = 0;
  for (const BuiltinSegment& b : BuiltinSegments()) {
    ++position;
    Result<Rule> rule = ParseRule(b.rule);
    if (!rule.ok()) return rule.status();  // tested never to happen
    auto existing = store_->Get(b.id);
    if (!existing.ok()) return existing.status();
    SegmentRow row;
    row.id = std::string(b.id);
    row.name = std::string(b.name);
    row.description = std::string(b.description);
    row.rule = rule->ToString();
    row.builtin = true;
    row.created_ms = now;
    row.updated_ms = now;
    if (*existing) {
      const SegmentRow& old = **existing;
      if (old.builtin && old.rule == row.rule && old.name == row.name &&
          old.description == row.description) {
        continue;
      }
      if (old.rule == row.rule) row.updated_ms = old.updated_ms;
    }
    CJD_RETURN_IF_ERROR(store_->PutDefinition(row, position));
  }
  return tx.Commit();
}

Status SegmentEngine::LoadSegments() {
  auto rows = store_->List();
  if (!rows.ok()) return rows.status();
  rules_.clear();
  for (const SegmentRow& row : *rows) {
    Result<Rule> rule = ParseRule(row.rule);
    if (!rule.ok()) {
      // Only if the language lost something a stored rule used: keep its members, evaluate none.
      spdlog::error("segments: stored rule of {} no longer parses, not evaluated: {}", row.id,
                    rule.status().ToString());
      continue;
    }
    rules_.push_back({row.id, std::move(*rule), ++generation_});
  }
  UpdateNeeds();
  std::lock_guard lock(stats_mu_);
  stats_.segments = static_cast<int64_t>(rows->size());
  return Status::Ok();
}

void SegmentEngine::UpdateNeeds() {
  std::vector<std::string> fields;
  for (const Compiled& c : rules_) {
    std::vector<std::string> f = c.rule.Fields();
    fields.insert(fields.end(), f.begin(), f.end());
  }
  needs_ = NeedsOf(fields);
  uses_stage_ = std::any_of(fields.begin(), fields.end(), [](const std::string& f) {
    return f == "journey_stage" || f == "journey_stage_furthest";
  });
  uses_tracked_ = std::find(fields.begin(), fields.end(), "tracked_events") != fields.end();
  uses_predictions_ = std::any_of(fields.begin(), fields.end(), [](const std::string& f) {
    return f == "p_alive" || f == "churn_risk" || PredictionHorizonOf(f).has_value();
  });
}

Result<PutSegmentResult> SegmentEngine::Put(const SegmentDefinition& def) {
  CJD_RETURN_IF_ERROR(ValidateSegmentId(def.id));
  if (IsBuiltinId(def.id)) {
    return Status(Code::kConflict, "\"" + def.id + "\" is a built-in segment and cannot be replaced",
                  "id");
  }
  Result<Rule> rule = ParseRule(def.rule);
  if (!rule.ok()) return rule.status();
  // The rule is stored in its printed form and parsed again at every start: that form must
  // parse too (printing adds the spaces around operators a rule may leave out).
  if (rule->ToString().size() > kMaxRuleBytes) {
    return Status::Invalid("rule is longer than " + std::to_string(kMaxRuleBytes) +
                               " bytes once written in its normal form",
                           "rule");
  }
  for (const std::string& f : rule->Fields()) {
    const std::optional<int> n = PredictionHorizonOf(f);
    if (n && *n != config_.predictions_horizon_days) {
      const std::string stem = f.substr(0, f.rfind('_') + 1);
      return Status::Invalid(f + ": the hub predicts for " +
                                 std::to_string(config_.predictions_horizon_days) +
                                 " days ([predictions] horizon_days); use " + stem +
                                 std::to_string(config_.predictions_horizon_days) + "d",
                             "rule");
    }
  }
  if (def.name.size() > kMaxSegmentNameBytes) {
    return Status::Invalid("must be at most 200 bytes", "name");
  }
  if (def.description.size() > kMaxSegmentDescriptionBytes) {
    return Status::Invalid("must be at most 2000 bytes", "description");
  }
  PutSegmentResult out;
  bool rule_changed = false;
  {
    std::lock_guard lock(write_mu_);
    if (!store_) return Status(Code::kUnavailable, "the segment engine is not running");
    const int64_t now = clock_->NowMillis();
    SegmentRow row;
    row.id = def.id;
    row.name = def.name.empty() ? def.id : def.name;
    row.description = def.description;
    row.rule = rule->ToString();
    row.created_ms = now;
    row.updated_ms = now;
    std::optional<bool> created_shared;
    if (shared_) {
      // The shared definition first: every instance follows it (Reconcile), this one at once.
      auto stored = shared_->Put(ToShared(row), now);
      if (!stored.ok()) return stored.status();
      row.created_ms = stored->row.created_ms;
      created_shared = stored->created;
    }
    auto changed = ApplyDefinition(row, std::move(*rule), &out.created);
    if (!changed.ok()) return changed.status();
    // Several instances: created is what the shared definitions say (this instance's copy may
    // not have followed another instance's write yet).
    if (created_shared) out.created = *created_shared;
    rule_changed = *changed;
    auto stored = store_->Get(def.id);
    if (!stored.ok()) return stored.status();
    if (!*stored) return Status::Internal("segment " + def.id + " vanished");
    out.row = std::move(**stored);
  }
  if (rule_changed) RequestRestart();
  return out;
}

Result<bool> SegmentEngine::ApplyDefinition(const SegmentRow& in, Rule rule, bool* created) {
  auto existing = store_->Get(in.id);
  if (!existing.ok()) return existing.status();
  SegmentRow row = in;
  *created = !existing->has_value();
  const bool rule_changed = *created || (*existing)->rule != row.rule;
  if (!*created && !shared_) row.created_ms = (*existing)->created_ms;
  CJD_RETURN_IF_ERROR(store_->PutDefinition(row, 0));
  if (rule_changed) {
    auto it = std::find_if(rules_.begin(), rules_.end(),
                           [&](const Compiled& c) { return c.id == row.id; });
    if (it == rules_.end()) {
      rules_.push_back({row.id, std::move(rule), ++generation_});
    } else {
      it->rule = std::move(rule);
      it->generation = ++generation_;
    }
    UpdateNeeds();
  }
  if (*created) {
    std::lock_guard slock(stats_mu_);
    ++stats_.segments;
  }
  return rule_changed;
}

Status SegmentEngine::Delete(const std::string& id) {
  if (IsBuiltinId(id)) {
    return Status(Code::kConflict, "\"" + id + "\" is a built-in segment and cannot be deleted",
                  "id");
  }
  std::lock_guard lock(write_mu_);
  if (!store_) return Status(Code::kUnavailable, "the segment engine is not running");
  auto existing = store_->Get(id);
  if (!existing.ok()) return existing.status();
  bool deleted_shared = false;
  if (shared_) {
    auto d = shared_->Delete(id, clock_->NowMillis());
    if (!d.ok()) return d.status();
    deleted_shared = *d;
  }
  if (!*existing) {
    // Defined through another instance a moment ago, not reconciled here yet: deleted all
    // the same (every instance follows the shared definitions).
    if (deleted_shared) return Status::Ok();
    return Status::NotFound("no segment \"" + id + "\"");
  }
  return RemoveDefinition(id);
}

Status SegmentEngine::RemoveDefinition(const std::string& id) {
  {
    sqlite::Transaction tx(store_->db());
    CJD_RETURN_IF_ERROR(tx.status());
    CJD_RETURN_IF_ERROR(store_->DeleteSegment(id, clock_->NowMillis()));
    CJD_RETURN_IF_ERROR(tx.Commit());
  }
  std::erase_if(rules_, [&](const Compiled& c) { return c.id == id; });
  UpdateNeeds();
  if (pass_) pass_->generations.erase(id);
  std::lock_guard slock(stats_mu_);
  --stats_.segments;
  return Status::Ok();
}

Status SegmentEngine::PublishLocal() {
  auto rows = store_->List();
  if (!rows.ok()) return rows.status();
  int copied = 0;
  for (const SegmentRow& row : *rows) {
    if (row.builtin) continue;
    auto put = shared_->PutIfAbsent(ToShared(row));
    if (!put.ok()) return put.status();
    copied += *put ? 1 : 0;
  }
  if (copied > 0) {
    spdlog::info("segments: copied {} segment(s) of this instance's segments.db into the "
                 "database's shared definitions",
                 copied);
  }
  return Status::Ok();
}

Status SegmentEngine::Reconcile() {
  // A rule applied before a later failure still needs its pass: the retry skips it as
  // unchanged, so the restart is asked for on every way out.
  bool restart = false;
  Status done = [&]() -> Status {
    std::lock_guard lock(write_mu_);
    if (!shared_ || !store_) return Status::Ok();
    auto changed = shared_->ChangedSince(shared_applied_sum_);
    if (!changed.ok()) return changed.status();
    if (!*changed) return Status::Ok();
    // Every return before the end leaves shared_applied_sum_ as it was: the next call reads
    // and applies everything again (what was applied already is skipped as unchanged).
    for (const SharedDefinition& d : (*changed)->definitions) {
      if (IsBuiltinId(d.id)) continue;  // never shared; not replaceable
      auto local = store_->Get(d.id);
      if (!local.ok()) return local.status();
      if (d.deleted) {
        if (*local && !(*local)->builtin) {
          CJD_RETURN_IF_ERROR(RemoveDefinition(d.id));
          spdlog::info("segments: {} deleted through another hub instance", d.id);
        }
        continue;
      }
      if (*local && (*local)->rule == d.rule && (*local)->name == d.name &&
          (*local)->description == d.description) {
        continue;
      }
      Result<Rule> rule = ParseRule(d.rule);
      if (!rule.ok()) {
        // An instance of a newer version wrote a rule this one cannot read: not evaluated here.
        spdlog::error("segments: shared segment {} has a rule this instance cannot parse, "
                      "not evaluated here: {}",
                      d.id, rule.status().ToString());
        continue;
      }
      bool created = false;
      auto rule_changed = ApplyDefinition(FromShared(d), std::move(*rule), &created);
      if (!rule_changed.ok()) return rule_changed.status();
      restart = restart || *rule_changed;
      if (created) spdlog::info("segments: {} defined through another hub instance", d.id);
    }
    shared_applied_sum_ = (*changed)->version_sum;
    return Status::Ok();
  }();
  if (restart) RequestRestart();
  return done;
}

Status SegmentEngine::EvaluateBatch(const std::vector<int64_t>& ids) {
  if (ids.empty()) return Status::Ok();
  const int64_t now = clock_->NowMillis();
  std::map<std::string, int64_t> delta;
  {
    sqlite::Transaction tx(store_->db());
    CJD_RETURN_IF_ERROR(tx.status());
    CJD_RETURN_IF_ERROR(facts_->Begin());  // one snapshot of profiles.db for the batch
    struct EndSnapshot {
      ProfileFactsReader& r;
      ~EndSnapshot() { r.End(); }
    } end_snapshot{*facts_};
    std::set<std::string> want;
    for (const int64_t id : ids) {
      want.clear();
      // A merged profile or a missing one leaves everything.
      Result<std::optional<ProfileFactsRow>> row = facts_->Read(id, needs_);
      if (!row.ok()) return row.status();
      if (*row) {
        ProfileFacts facts = FactsFromRow(**row, needs_, now);
        if (uses_stage_ && stage_reader_) {
          auto [current, furthest] = stage_reader_(id, now);
          facts.Set("journey_stage", current.empty() ? FactValue() : FactValue(current));
          facts.Set("journey_stage_furthest", furthest.empty() ? FactValue() : FactValue(furthest));
        }
        if (uses_tracked_ && tracked_reader_) {
          const std::vector<std::string> names = tracked_reader_(id);
          facts.Set("tracked_events", StringList(names.begin(), names.end()));
        }
        if (uses_predictions_ && prediction_facts_) {
          CJD_RETURN_IF_ERROR(prediction_facts_(id, &facts));
        }
        for (const Compiled& c : rules_) {
          if (c.rule.Matches(facts)) want.insert(c.id);
        }
      }
      auto have = store_->SegmentsOf(id);
      if (!have.ok()) return have.status();
      for (const std::string& s : *have) {
        if (want.erase(s) > 0) continue;  // stays
        // Left (or a segment whose stored rule no longer parses: kept).
        if (std::none_of(rules_.begin(), rules_.end(),
                         [&](const Compiled& c) { return c.id == s; })) {
          continue;
        }
        auto left = store_->Leave(s, id, now);
        if (!left.ok()) return left.status();
        if (*left) --delta[s];
      }
      for (const std::string& s : want) {
        auto joined = store_->Join(s, id, now);
        if (!joined.ok()) return joined.status();
        if (*joined) ++delta[s];
      }
    }
    for (const auto& [s, d] : delta) {
      if (d != 0) CJD_RETURN_IF_ERROR(store_->AddMembers(s, d));
    }
    // The change log (webhooks' feed) keeps 7 days; pruned at most hourly.
    if (now - last_prune_ms_ >= 3'600'000) {
      CJD_RETURN_IF_ERROR(store_->PruneChanges(now - kChangeLogKeepMs));
      last_prune_ms_ = now;
    }
    CJD_RETURN_IF_ERROR(tx.Commit());
  }
  std::lock_guard lock(stats_mu_);
  stats_.evaluations += static_cast<int64_t>(ids.size());
  return Status::Ok();
}

Status SegmentEngine::PassChunk(std::vector<int64_t>* evaluated, bool* done) {
  const int64_t chunk = config_.segments_chunk;
  std::vector<int64_t> live;
  live_chunk_->Reset();
  live_chunk_->Bind(1, pass_->cursor).Bind(2, chunk);
  while (true) {
    auto r = live_chunk_->Step();
    if (!r.ok()) {
      live_chunk_->Reset();
      return r.status();
    }
    if (!*r) break;
    live.push_back(live_chunk_->ColumnInt(0));
  }
  live_chunk_->Reset();
  *done = static_cast<int64_t>(live.size()) < chunk;
  const int64_t hi = *done ? std::numeric_limits<int64_t>::max() : live.back();
  // Members in the same id range that are no longer live profiles: evaluated so they leave.
  auto members = store_->MemberIdsBetween(pass_->cursor, hi);
  if (!members.ok()) return members.status();
  std::vector<int64_t> ids;
  ids.reserve(live.size() + members->size());
  std::set_union(live.begin(), live.end(), members->begin(), members->end(),
                 std::back_inserter(ids));
  CJD_RETURN_IF_ERROR(EvaluateBatch(ids));
  pass_->cursor = hi;
  *evaluated = std::move(ids);
  if (!*done) return Status::Ok();

  // The pass is complete: every segment whose rule it evaluated from the start is current.
  const int64_t now = clock_->NowMillis();
  {
    sqlite::Transaction tx(store_->db());
    CJD_RETURN_IF_ERROR(tx.status());
    for (const Compiled& c : rules_) {
      auto it = pass_->generations.find(c.id);
      if (it != pass_->generations.end() && it->second == c.generation) {
        CJD_RETURN_IF_ERROR(store_->SetEvaluated(c.id, now));
      }
    }
    CJD_RETURN_IF_ERROR(tx.Commit());
  }
  std::lock_guard lock(stats_mu_);
  ++stats_.full_evaluations;
  stats_.last_full_evaluation_ms = SteadyMs() - pass_->started_steady_ms;
  stats_.last_full_evaluation_at_ms = now;
  stats_.full_evaluation_running = false;
  pass_.reset();
  return Status::Ok();
}

Status SegmentEngine::Step(bool* idle) {
  *idle = true;
  std::vector<int64_t> queued;
  bool start_pass = false;
  {
    std::lock_guard lock(worker_.mu());
    queued.swap(queue_);
    if (restart_requested_) {
      start_pass = true;
      restart_requested_ = false;
      full_requested_ = false;
    }
  }
  std::sort(queued.begin(), queued.end());
  queued.erase(std::unique(queued.begin(), queued.end()), queued.end());
  const size_t chunk = static_cast<size_t>(config_.segments_chunk);
  for (size_t at = 0; at < queued.size(); at += chunk) {
    *idle = false;
    std::vector<int64_t> batch(queued.begin() + static_cast<ptrdiff_t>(at),
                               queued.begin() + static_cast<ptrdiff_t>(std::min(at + chunk,
                                                                                queued.size())));
    Status st;
    {
      std::lock_guard lock(write_mu_);
      st = EvaluateBatch(batch);
    }
    if (!st.ok()) {
      ProfilesChanged(std::vector<int64_t>(queued.begin() + static_cast<ptrdiff_t>(at),
                                           queued.end()));  // retried at the next step
      return st;
    }
    Notify(batch);
  }

  std::vector<int64_t> evaluated;
  Status st;
  {
    std::lock_guard lock(write_mu_);
    if (!pass_) {
      std::lock_guard qlock(worker_.mu());
      if (full_requested_) {
        start_pass = true;
        full_requested_ = false;
      }
    }
    if (start_pass) {
      // Not pass_.emplace(): clang 14 decides whether the nested Pass (member initializers) is
      // default-constructible while SegmentEngine is still being defined, and keeps the "no".
      pass_ = Pass{};
      pass_->started_ms = clock_->NowMillis();
      pass_->started_steady_ms = SteadyMs();
      for (const Compiled& c : rules_) pass_->generations[c.id] = c.generation;
      std::lock_guard slock(stats_mu_);
      stats_.full_evaluation_running = true;
    }
    if (!pass_) return Status::Ok();
    *idle = false;
    bool done = false;
    st = PassChunk(&evaluated, &done);
  }
  if (!st.ok()) return st;
  Notify(evaluated);
  return Status::Ok();
}

void SegmentEngine::Notify(const std::vector<int64_t>& ids) {
  if (!ids.empty() && on_members_changed_) on_members_changed_(ids);
}

Status SegmentEngine::RunPending() {
  CJD_RETURN_IF_ERROR(Reconcile());  // several instances: what the others defined, first
  while (true) {
    bool idle = true;
    CJD_RETURN_IF_ERROR(Step(&idle));
    if (idle) return Status::Ok();
  }
}

void SegmentEngine::Run() {
  const auto period = std::chrono::seconds(config_.segments_reevaluate_s);
  auto next_full = std::chrono::steady_clock::now() + period;
  // Several instances: what the others defined, looked at this often.
  constexpr auto kReconcileEvery = std::chrono::seconds(2);
  auto next_reconcile = std::chrono::steady_clock::now() + kReconcileEvery;
  const bool shared = [&] {
    std::lock_guard lock(write_mu_);
    return shared_ != nullptr;
  }();
  while (true) {
    if (shared && std::chrono::steady_clock::now() >= next_reconcile) {
      next_reconcile = std::chrono::steady_clock::now() + kReconcileEvery;
      Status r = Reconcile();
      if (!r.ok()) spdlog::error("segments: reading the shared definitions: {}", r.ToString());
    }
    bool idle = true;
    Status st = Step(&idle);
    if (!st.ok()) spdlog::error("segments: {}", st.ToString());
    std::unique_lock lock(worker_.mu());
    if (worker_.stopping()) return;
    if (std::chrono::steady_clock::now() >= next_full) {
      next_full = std::chrono::steady_clock::now() + period;
      bool running = false;
      {
        std::lock_guard slock(stats_mu_);
        running = stats_.full_evaluation_running;
      }
      if (!running) full_requested_ = true;  // a pass in progress is a re-evaluation already
      continue;
    }
    if (!st.ok()) {
      worker_.SleepFor(lock, std::chrono::seconds(1));
      continue;
    }
    if (!idle) continue;  // more may be waiting (the next chunk)
    worker_.WaitUntil(lock, shared ? std::min(next_full, next_reconcile) : next_full, [this] {
      return !queue_.empty() || full_requested_ || restart_requested_;
    });
    if (worker_.stopping()) return;
  }
}

SegmentEngineStats SegmentEngine::Stats() const {
  SegmentEngineStats s;
  {
    std::lock_guard lock(stats_mu_);
    s = stats_;
  }
  std::lock_guard lock(worker_.mu());
  s.queued = static_cast<int64_t>(queue_.size());
  return s;
}

}  // namespace cjd::hub::segments
