#include "hub/matching/profile_matcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "hub/matching/dedupe.h"

namespace cjd::hub::matching {
namespace {

using nlohmann::json;

constexpr int kScanPage = 2000;
constexpr int64_t kMaxFitDeferMs = 10 * 60'000;
constexpr size_t kMergeChunk = 500;
constexpr size_t kMaxValueBytes = 128;

uint64_t HashRecord(const Record& r) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the fields, each ended by a 0xff byte
  for (const std::string& v : r.fields) {
    for (unsigned char c : v) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;
  }
  return h;
}

json FieldsJson(const Record& r) {
  json out = json::object();
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (!r.fields[i].empty()) out[std::string(kFieldNames[i])] = r.fields[i];
  }
  return out;
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void GuardChains(std::vector<MatchMerge>* merges, ReviewPairs* reviews,
                 const std::function<double(int64_t, int64_t)>& probability) {
  if (merges->size() < 2) return;
  std::unordered_map<int64_t, int64_t> parent;
  std::function<int64_t(int64_t)> find = [&](int64_t x) -> int64_t {
    auto it = parent.find(x);
    if (it == parent.end() || it->second == x) return x;
    return it->second = find(it->second);
  };
  for (const MatchMerge& m : *merges) {
    parent.emplace(m.a, m.a);
    parent.emplace(m.b, m.b);
    const int64_t ra = find(m.a), rb = find(m.b);
    if (ra != rb) parent[std::max(ra, rb)] = std::min(ra, rb);
  }
  std::unordered_map<int64_t, std::vector<int64_t>> groups;
  for (const auto& [id, unused] : parent) groups[find(id)].push_back(id);
  std::set<int64_t> refused_roots;
  for (auto& [root, members] : groups) {
    if (members.size() <= 2) continue;
    bool ok = members.size() <= kMaxGroup;
    std::sort(members.begin(), members.end());
    for (size_t i = 0; ok && i < members.size(); ++i) {
      for (size_t j = i + 1; ok && j < members.size(); ++j) {
        ok = probability(members[i], members[j]) >= kGuardProbability;
      }
    }
    if (!ok) refused_roots.insert(root);
  }
  if (refused_roots.empty()) return;
  std::vector<MatchMerge> kept;
  for (const MatchMerge& m : *merges) {
    if (refused_roots.count(find(m.a)) > 0) {
      reviews->push_back({{m.a, m.b}, m.probability});
    } else {
      kept.push_back(m);
    }
  }
  *merges = std::move(kept);
}


bool RecordFromAttributes(const json& attributes, Record* record) {
  *record = Record{};
  if (!attributes.is_object()) return false;
  bool any = false;
  for (size_t i = 0; i < kFieldCount; ++i) {
    auto it = attributes.find(std::string(kFieldNames[i]));
    if (it == attributes.end()) continue;
    std::string value;
    if (it->is_string()) {
      value = it->get<std::string>();
    } else if (it->is_number()) {
      value = it->dump();
    } else {
      continue;
    }
    if (value.empty()) continue;
    // Comparisons read 64 bytes; more only costs memory (an attribute may hold 1,024).
    if (value.size() > kMaxValueBytes) value.resize(kMaxValueBytes);
    record->fields[i] = std::move(value);
    any = true;
  }
  return any;
}

ProfileMatcher::ProfileMatcher(MatcherOptions options, const IdentityKeys& keys, MergeFn merge,
                               KeepApartFn keep_apart, const Clock* clock)
    : options_(std::move(options)),
      keys_(keys),
      merge_(std::move(merge)),
      keep_apart_(std::move(keep_apart)),
      clock_(clock) {}

ProfileMatcher::~ProfileMatcher() { Stop(); }

Status ProfileMatcher::Start() {
  {
    std::lock_guard lock(api_mu_);
    auto store = ReviewStore::Open(options_.path);
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    auto reader = ProfileFactsReader::Open(options_.profiles_path, keys_, nullptr);
    if (!reader.ok()) return reader.status();
    api_reader_ = std::move(*reader);
  }
  {
    std::lock_guard lock(work_mu_);
    auto reader = ProfileFactsReader::Open(options_.profiles_path, keys_, nullptr);
    if (!reader.ok()) return reader.status();
    reader_ = std::move(*reader);
  }
  worker_.Start("matching", [this] { Run(); });
  return Status::Ok();
}

void ProfileMatcher::Stop() { worker_.Stop(); }

void ProfileMatcher::ProfilesChanged(const std::vector<int64_t>& ids) {
  {
    std::lock_guard lock(worker_.mu());
    queue_.insert(ids.begin(), ids.end());
  }
  worker_.Notify();
}

void ProfileMatcher::Run() {
  std::unique_lock lock(worker_.mu());
  bool first = true;  // the state at start: every profile scanned (and fitted when enough)
  while (!worker_.stopping()) {
    if (!first) {
      worker_.WaitFor(lock, std::chrono::milliseconds(options_.check_interval_ms),
                      [&] { return !queue_.empty(); });
      if (worker_.stopping()) return;
    }
    first = false;
    lock.unlock();
    {
      std::lock_guard work(work_mu_);
      const Status s = Work();
      std::lock_guard stats(stats_mu_);
      if (!s.ok()) {
        if (stats_.last_error != s.ToString() && !worker_.stopping()) {
          spdlog::error("matching: {}", s.ToString());
        }
        stats_.last_error = s.ToString();
      } else {
        stats_.last_error.clear();
      }
    }
    lock.lock();
  }
}

Status ProfileMatcher::RunOnce() {
  std::lock_guard work(work_mu_);
  return Work();
}

Status ProfileMatcher::Work() {
  if (!table_) return Fit();  // the first scan (or a retry of one that failed)
  std::vector<int64_t> ids;
  {
    std::lock_guard lock(worker_.mu());
    ids.assign(queue_.begin(), queue_.end());
    queue_.clear();
    in_progress_ = ids.size();
  }
  if (!ids.empty()) {
    const Status updated = Update(ids);
    {
      std::lock_guard lock(worker_.mu());
      in_progress_ = 0;
    }
    CJD_RETURN_IF_ERROR(updated);
  }
  const int64_t records = static_cast<int64_t>(current_.size());
  bool due = false;
  const bool grown = records * 100 >= fit_records_ * (100 + options_.refit_growth_percent);
  if (!model_) {
    // The first fit once there are enough profiles; when one found nothing to learn from (no
    // candidate pairs), the next waits for the same growth as a refit.
    due = records >= options_.min_records && (fit_records_ < options_.min_records || grown);
  } else {
    due = clock_->NowMillis() - fit_at_ms_ >= options_.refit_interval_ms || grown;
  }
  // While an import is landing (the profiles with matching fields grew by more than 100 and 1 %
  // over the last check interval) a due fit waits, so an import is fitted once, after it, on all
  // of it, not on its first hundreds; at most kMaxFitDeferMs, so an endless stream still fits.
  const int64_t now = clock_->NowMillis();
  if (now - growth_check_ms_ >= options_.check_interval_ms) {
    const int64_t grew = records - growth_check_records_;
    importing_ = grew > 100 && grew * 100 > growth_check_records_;
    growth_check_ms_ = now;
    growth_check_records_ = records;
  }
  bool waiting = false;
  if (due && importing_) {
    if (due_since_ms_ == 0) due_since_ms_ = now;
    if (now - due_since_ms_ < kMaxFitDeferMs) due = false, waiting = true;
  }
  {
    std::lock_guard stats(stats_mu_);
    stats_.fit_waiting = waiting;
  }
  if (due) {
    due_since_ms_ = 0;
    return Fit();
  }
  if (rebuild_) {  // an erasure: its values leave the in-memory tables
    std::vector<int64_t> scanned;
    std::vector<Record> scanned_records;
    return Rebuild(&scanned, &scanned_records);
  }
  return Status::Ok();
}

uint32_t ProfileMatcher::Index(int64_t profile_id, const Record& record) {
  const uint32_t row = table_->Add(record);
  index_->Add(*table_, row);
  row_profile_.push_back(profile_id);
  current_[profile_id] = {row, HashRecord(record)};
  return row;
}

void ProfileMatcher::Drop(int64_t profile_id) {
  auto it = current_.find(profile_id);
  if (it == current_.end()) return;
  row_profile_[it->second.row] = 0;
  // Out of the blocks and the value counts at once: a dead row neither fills a block towards
  // its size limit nor weighs in the term frequencies.
  index_->Remove(it->second.row);
  table_->Forget(it->second.row);
  current_.erase(it);
  // Dead rows stay in the table and the blocks until a rebuild: one when they outnumber the
  // live ones (a source rewriting the same profiles' fields cannot grow memory without bound).
  if (row_profile_.size() > 2 * current_.size() + 10'000) rebuild_ = true;
}

Status ProfileMatcher::Rebuild(std::vector<int64_t>* ids, std::vector<Record>* records) {
  // Every live profile with a matching field, from one snapshot.
  ids->clear();
  records->clear();
  CJD_RETURN_IF_ERROR(reader_->Begin());
  {
    ProfileFactsNeeds needs;
    needs.orders = needs.favourite_store = needs.favourite_category = false;
    int64_t after = 0;
    while (true) {
      Result<std::vector<int64_t>> page = reader_->LiveWithAttributes(after, kScanPage);
      if (!page.ok()) {
        reader_->End();
        return page.status();
      }
      if (page->empty()) break;
      if (worker_.stopping()) {
        reader_->End();
        return Status(Code::kUnavailable, "stopping");
      }
      after = page->back();
      for (int64_t id : *page) {
        auto row = reader_->Read(id, needs);
        if (!row.ok()) {
          reader_->End();
          return row.status();
        }
        Record r;
        if (*row && RecordFromAttributes((*row)->attributes, &r)) {
          ids->push_back(id);
          records->push_back(std::move(r));
        }
      }
    }
  }
  reader_->End();
  table_ = std::make_unique<RecordTable>();
  index_ = std::make_unique<BlockingIndex>(DefaultBlockingKeys(), DedupeOptions{}.max_block_size);
  row_profile_.clear();
  current_.clear();
  for (size_t i = 0; i < records->size(); ++i) Index((*ids)[i], (*records)[i]);
  rebuild_ = false;
  // Review items of profiles erased while the hub was down (the feed named them to no one).
  {
    std::lock_guard lock(api_mu_);
    std::vector<int64_t> gone;
    int64_t after = 0;
    while (true) {
      Result<std::vector<ReviewItem>> page = store_->List("", after, 1000);
      if (!page.ok()) return page.status();
      if (page->empty()) break;
      after = page->back().review_id;
      CJD_RETURN_IF_ERROR(reader_->Begin());
      for (const ReviewItem& item : *page) {
        for (int64_t id : {item.a, item.b}) {
          Result<std::optional<int64_t>> live = reader_->LiveId(id);
          if (!live.ok()) {
            reader_->End();
            return live.status();
          }
          if (!*live) gone.push_back(id);
        }
      }
      reader_->End();
    }
    CJD_RETURN_IF_ERROR(store_->ForgetProfiles(gone));
  }
  std::lock_guard stats(stats_mu_);
  stats_.records = static_cast<int64_t>(current_.size());
  return Status::Ok();
}

Status ProfileMatcher::Fit() {
  const int64_t started = SteadyMs();
  {
    std::lock_guard stats(stats_mu_);
    stats_.fitting = true;
  }
  struct Done {
    ProfileMatcher* m;
    ~Done() {
      std::lock_guard stats(m->stats_mu_);
      m->stats_.fitting = false;
    }
  } done{this};
  std::vector<int64_t> ids;
  std::vector<Record> records;
  CJD_RETURN_IF_ERROR(Rebuild(&ids, &records));
  fit_records_ = static_cast<int64_t>(records.size());

  if (static_cast<int64_t>(records.size()) < options_.min_records) {
    return Status::Ok();  // too few to fit: indexed (Rebuild), the first fit waits for more
  }
  DedupeOptions options;
  options.keep_candidates = true;
  Result<DedupeResult> fitted = Deduplicate(records, options);
  if (!fitted.ok()) return fitted.status();
  fit_at_ms_ = clock_->NowMillis();
  if (fitted->stats.candidate_pairs == 0 || !(fitted->model.lambda > 0)) {
    return Status::Ok();  // no two profiles share a blocking key: nothing to learn from yet
  }
  model_ = fitted->model;
  refused_.clear();
  // The full pass: every candidate pair of the fit, scored by it.
  std::vector<MatchMerge> merges;
  std::vector<std::pair<std::pair<int64_t, int64_t>, double>> reviews;
  for (const auto& [pair, probability] : fitted->candidates) {
    const int64_t a = ids[pair.first], b = ids[pair.second];
    if (AutoMerge(probability)) {
      merges.push_back({std::min(a, b), std::max(a, b), probability, "probabilistic"});
    } else if (probability >= options_.review_threshold) {
      reviews.push_back({{std::min(a, b), std::max(a, b)}, probability});
    }
  }
  {  // the fit's records are rows 0..n-1 of the table, in `ids` order
    std::unordered_map<int64_t, uint32_t> row_of;
    for (size_t i = 0; i < ids.size(); ++i) row_of[ids[i]] = static_cast<uint32_t>(i);
    GuardChains(&merges, &reviews, [&](int64_t a, int64_t b) {
      return MatchProbability(*model_, *table_, (*table_)[row_of.at(a)], (*table_)[row_of.at(b)]);
    });
  }
  {
    std::lock_guard stats(stats_mu_);
    ++stats_.fits;
    stats_.last_fit_at_ms = fit_at_ms_;
    stats_.last_fit_records = static_cast<int64_t>(records.size());
    stats_.last_fit_candidate_pairs = static_cast<int64_t>(fitted->stats.candidate_pairs);
    stats_.lambda = model_->lambda;
    stats_.compared_pairs += static_cast<int64_t>(fitted->stats.candidate_pairs);
  }
  spdlog::info("matching: fitted on {} profiles ({} candidate pairs, lambda {:.4f}): {} to merge, "
               "{} to review",
               records.size(), fitted->stats.candidate_pairs, model_->lambda, merges.size(),
               reviews.size());
  const Status acted = Act(merges, reviews);
  if (!acted.ok()) {
    // The pass did not finish (the projector or matching.db failed): fit and pass again at
    // the next check rather than wait for the next refit.
    model_.reset();
    fit_records_ = 0;
  }
  std::lock_guard stats(stats_mu_);
  stats_.last_fit_ms = SteadyMs() - started;
  return acted;
}

Status ProfileMatcher::Update(const std::vector<int64_t>& ids) {
  if (!table_) return Status::Ok();  // before the first scan: Fit() reads everything
  ProfileFactsNeeds needs;
  needs.orders = needs.favourite_store = needs.favourite_category = false;
  std::vector<uint32_t> rows;  // changed records to compare
  std::vector<int64_t> gone;   // ids that no longer exist (erased)
  CJD_RETURN_IF_ERROR(reader_->Begin());
  for (int64_t id : ids) {
    auto live = reader_->LiveId(id);
    if (!live.ok()) {
      reader_->End();
      return live.status();
    }
    if (!*live || **live != id) {  // erased, or merged into another
      Drop(id);
      if (!*live) gone.push_back(id);
      continue;
    }
    auto row = reader_->Read(id, needs);
    if (!row.ok()) {
      reader_->End();
      return row.status();
    }
    Record r;
    if (!*row || !RecordFromAttributes((*row)->attributes, &r)) {
      Drop(id);
      continue;
    }
    auto it = current_.find(id);
    if (it != current_.end() && it->second.hash == HashRecord(r)) continue;  // fields unchanged
    Drop(id);
    rows.push_back(Index(id, r));
  }
  reader_->End();
  if (!gone.empty()) {
    rebuild_ = true;
    std::lock_guard lock(api_mu_);
    CJD_RETURN_IF_ERROR(store_->ForgetProfiles(gone));
  }
  {
    std::lock_guard stats(stats_mu_);
    stats_.records = static_cast<int64_t>(current_.size());
  }
  if (!model_ || rows.empty()) return Status::Ok();
  std::vector<MatchMerge> merges;
  std::vector<std::pair<std::pair<int64_t, int64_t>, double>> reviews;
  for (uint32_t row : rows) {
    if (row_profile_[row] != 0) Score(row, /*lower_only=*/false, &merges, &reviews);
  }
  GuardChains(&merges, &reviews, [&](int64_t a, int64_t b) {
    auto ia = current_.find(a), ib = current_.find(b);
    if (ia == current_.end() || ib == current_.end()) return 0.0;  // no fields: not compatible
    return MatchProbability(*model_, *table_, (*table_)[ia->second.row],
                            (*table_)[ib->second.row]);
  });
  return Act(merges, reviews);
}

void ProfileMatcher::Score(uint32_t row, bool lower_only, std::vector<MatchMerge>* merges,
                           std::vector<std::pair<std::pair<int64_t, int64_t>, double>>* reviews) {
  const int64_t self = row_profile_[row];
  index_->Candidates(*table_, (*table_)[row], row, &candidates_);
  int64_t compared = 0;
  for (uint32_t other : candidates_) {
    if (lower_only && other >= row) continue;
    const int64_t them = row_profile_[other];
    if (them == 0 || them == self) continue;
    // In profile-id order, so a pair's figure does not depend on which side changed.
    const bool self_first = self < them;
    const PreparedRecord& x = (*table_)[self_first ? row : other];
    const PreparedRecord& y = (*table_)[self_first ? other : row];
    const double p = MatchProbability(*model_, *table_, x, y);
    ++compared;
    const int64_t a = std::min(self, them), b = std::max(self, them);
    if (AutoMerge(p)) {
      merges->push_back({a, b, p, "probabilistic"});
    } else if (p >= options_.review_threshold) {
      reviews->push_back({{a, b}, p});
    }
  }
  std::lock_guard stats(stats_mu_);
  stats_.compared_pairs += compared;
}

Status ProfileMatcher::Act(const std::vector<MatchMerge>& merges,
                           const std::vector<std::pair<std::pair<int64_t, int64_t>, double>>& reviews) {
  int64_t merged = 0, refused = 0, added = 0;
  struct Count {  // what got done is counted, also when a later step fails
    ProfileMatcher* m;
    int64_t *merged, *refused, *added;
    ~Count() {
      std::lock_guard stats(m->stats_mu_);
      m->stats_.merges += *merged;
      m->stats_.refused += *refused;
      m->stats_.reviews_added += *added;
    }
  } count{this, &merged, &refused, &added};
  // A pair refused once (kept apart, identifier limits) is not asked for again until the next
  // fit: its profiles change often (every identify), the answer rarely.
  std::vector<MatchMerge> ask;
  for (const MatchMerge& m : merges) {
    if (refused_.count({m.a, m.b}) == 0) ask.push_back(m);
  }
  // In transactions of at most kMergeChunk, so the projection's batches go on in between.
  for (size_t from = 0; from < ask.size() && !worker_.stopping(); from += kMergeChunk) {
    const std::vector<MatchMerge> chunk(
        ask.begin() + static_cast<std::ptrdiff_t>(from),
        ask.begin() + static_cast<std::ptrdiff_t>(std::min(ask.size(), from + kMergeChunk)));
    Result<std::vector<MatchMergeResult>> results = merge_(chunk);
    if (!results.ok()) return results.status();
    for (size_t i = 0; i < results->size(); ++i) {
      const MatchMergeResult& r = (*results)[i];
      if (r.merge_id != 0) {
        ++merged;
      } else if (r.refused != "same_profile" && r.refused != "gone") {
        ++refused;
        refused_.insert({chunk[i].a, chunk[i].b});
      }
    }
  }
  if (!reviews.empty()) {
    const int64_t now = clock_->NowMillis();
    std::lock_guard lock(api_mu_);
    Result<int64_t> a = store_->AddMany(reviews, now);  // one transaction
    if (!a.ok()) return a.status();
    added = *a;
  }
  return Status::Ok();
}

Result<ProfileMatcher::ReviewView> ProfileMatcher::View(const ReviewItem& item) {
  ReviewView v;
  v.item = item;
  ProfileFactsNeeds needs;
  needs.orders = needs.favourite_store = needs.favourite_category = false;
  auto fields_of = [&](int64_t id, int64_t* live, json* fields) -> Status {
    *fields = json::object();
    auto l = api_reader_->LiveId(id);
    if (!l.ok()) return l.status();
    *live = l->value_or(0);
    if (*live == 0) return Status::Ok();
    auto row = api_reader_->Read(*live, needs);
    if (!row.ok()) return row.status();
    Record r;
    if (*row && RecordFromAttributes((*row)->attributes, &r)) *fields = FieldsJson(r);
    return Status::Ok();
  };
  CJD_RETURN_IF_ERROR(api_reader_->Begin());
  Status s = fields_of(item.a, &v.live_a, &v.fields_a);
  if (s.ok()) s = fields_of(item.b, &v.live_b, &v.fields_b);
  api_reader_->End();
  if (!s.ok()) return s;
  return v;
}

Result<std::vector<ProfileMatcher::ReviewView>> ProfileMatcher::Reviews(const std::string& status,
                                                                        int64_t after, int limit) {
  std::lock_guard lock(api_mu_);
  Result<std::vector<ReviewItem>> items = store_->List(status, after, limit);
  if (!items.ok()) return items.status();
  std::vector<ReviewView> out;
  out.reserve(items->size());
  for (const ReviewItem& item : *items) {
    Result<ReviewView> v = View(item);
    if (!v.ok()) return v.status();
    out.push_back(std::move(*v));
  }
  return out;
}

Result<std::optional<ProfileMatcher::ReviewView>> ProfileMatcher::Review(int64_t review_id) {
  std::lock_guard lock(api_mu_);
  Result<std::optional<ReviewItem>> item = store_->Get(review_id);
  if (!item.ok()) return item.status();
  if (!*item) return std::optional<ReviewView>();
  Result<ReviewView> v = View(**item);
  if (!v.ok()) return v.status();
  return std::optional<ReviewView>(std::move(*v));
}

Result<ProfileMatcher::ReviewView> ProfileMatcher::Decide(int64_t review_id,
                                                          const std::string& decision) {
  std::lock_guard lock(api_mu_);
  Result<std::optional<ReviewItem>> item = store_->Get(review_id);
  if (!item.ok()) return item.status();
  if (!*item) return Status::NotFound("no review item " + std::to_string(review_id));
  ReviewItem r = **item;
  if (r.status != "pending") {
    return Status(Code::kConflict, "review item " + std::to_string(review_id) +
                                       " was decided already (" + r.status + ")");
  }
  const int64_t now = clock_->NowMillis();
  if (decision == "merge") {
    Result<std::vector<MatchMergeResult>> merged =
        merge_({MatchMerge{r.a, r.b, r.probability, "review"}});
    if (!merged.ok()) return merged.status();
    const MatchMergeResult& m = merged->front();
    if (m.merge_id == 0 && m.refused != "same_profile") {
      return Status(Code::kConflict, "the projection refused the merge: " + m.refused);
    }
    // same_profile: something else made them one profile since; the decision stands, done.
    CJD_RETURN_IF_ERROR(store_->Decide(review_id, "merged", m.merge_id, now));
    r.status = "merged";
    r.merge_id = m.merge_id;
  } else if (decision == "keep_apart") {
    Result<std::pair<int64_t, int64_t>> kept = keep_apart_(r.a, r.b);
    if (!kept.ok()) {
      if (kept.status().code() == Code::kNotFound) {  // erased since: nothing left to keep apart
        return Status(Code::kConflict, "a profile of this pair was erased: " +
                                           kept.status().message());
      }
      return kept.status();
    }
    CJD_RETURN_IF_ERROR(store_->Decide(review_id, "kept_apart", 0, now));
    r.status = "kept_apart";
  } else {
    return Status::Invalid("decision must be \"merge\" or \"keep_apart\"", "decision");
  }
  r.decided_ms = now;
  return View(r);
}

MatcherStats ProfileMatcher::Stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

json ProfileMatcher::StatsJson() const {
  MatcherStats s = Stats();
  size_t queued = 0;
  size_t in_progress = 0;
  {
    std::lock_guard lock(worker_.mu());
    queued = queue_.size();
    in_progress = in_progress_;
  }
  json j = {{"queued", queued},
            {"matching_now", in_progress},
            {"enabled", true},
            {"records", s.records},
            {"fits", s.fits},
            {"last_fit_ms", s.last_fit_ms},
            {"last_fit_records", s.last_fit_records},
            {"last_fit_candidate_pairs", s.last_fit_candidate_pairs},
            {"lambda", s.lambda},
            {"compared_pairs", s.compared_pairs},
            {"merges", s.merges},
            {"refused", s.refused},
            {"reviews_added", s.reviews_added},
            {"fit_waiting", s.fit_waiting},
            {"fitting", s.fitting},
            {"last_error", s.last_error}};
  j["last_fit_at_ms"] = s.last_fit_at_ms;
  {
    std::lock_guard lock(api_mu_);
    if (store_) {
      Result<int64_t> pending = store_->CountPending();
      j["reviews_pending"] = pending.ok() ? json(*pending) : json(nullptr);
    }
  }
  return j;
}

}  // namespace cjd::hub::matching
