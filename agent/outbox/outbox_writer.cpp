#include "agent/outbox/outbox_writer.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "shared/event/event.h"

namespace cjd::agent {
namespace {

// Telemetry may fill the budget up to this share, so business events always find room.
constexpr int64_t kTelemetryBudgetPercent = 90;
constexpr auto kMaxRetryBackoff = std::chrono::milliseconds(2000);

bool AllTelemetry(const std::vector<PendingEvent>& events) {
  if (events.empty()) return false;
  for (const auto& e : events) {
    if (ClassOf(static_cast<EventType>(e.type)) != EventClass::kTelemetry) return false;
  }
  return true;
}

}  // namespace

OutboxWriter::OutboxWriter(std::unique_ptr<OutboxStore> store, int64_t budget_bytes,
                           int64_t dedupe_window_ms, const Clock* clock)
    : store_(std::move(store)),
      budget_bytes_(budget_bytes),
      dedupe_window_ms_(dedupe_window_ms),
      clock_(clock) {
  stats_.counters = store_->counters();
  stats_.resets = store_->resets();
  stats_.budget_bytes = budget_bytes_;
}

OutboxWriter::~OutboxWriter() { Stop(); }

void OutboxWriter::Start() { worker_.Start("outbox-writer", [this] { Run(); }); }

void OutboxWriter::Stop() { worker_.Stop(); }  // the loop drains the queue first

void OutboxWriter::Submit(std::vector<PendingEvent> events, Done done) {
  {
    std::lock_guard lock(worker_.mu());
    if (!worker_.stopping()) {
      queue_.push_back(Request{std::move(events), std::move(done)});
      worker_.Notify();
      return;
    }
  }
  done(AppendResult{Status(Code::kUnavailable, "the agent is shutting down"), 0, 0});
}

bool OutboxWriter::Ack(uint64_t epoch, uint64_t seq) {
  std::lock_guard lock(worker_.mu());
  if (epoch != stats_.counters.epoch || new_epoch_) return false;
  if (seq > pending_ack_) pending_ack_ = seq;
  worker_.Notify();
  return true;
}

void OutboxWriter::NewEpoch(std::string reason, std::string detail) {
  std::lock_guard lock(worker_.mu());
  new_epoch_ = EpochRequest{std::move(reason), std::move(detail)};
  pending_ack_ = 0;
  worker_.Notify();
}

void OutboxWriter::Redact(std::function<bool(std::string_view body)> matches,
                          std::function<void(Result<int64_t>)> done) {
  std::lock_guard lock(worker_.mu());
  redactions_.push_back({std::move(matches), std::move(done)});
  worker_.Notify();
}

void OutboxWriter::SetTelemetryLimits(std::string fs_path, int64_t min_free_bytes) {
  fs_path_ = std::move(fs_path);
  min_free_bytes_ = min_free_bytes;
}

std::string OutboxWriter::TelemetryRefusal(int64_t bytes) const {
  const int64_t backlog = store_->counters().backlog_bytes;
  if ((backlog + bytes) * 100 > budget_bytes_ * kTelemetryBudgetPercent) {
    return "outbox budget " + std::to_string(kTelemetryBudgetPercent) +
           " % full: telemetry dropped to keep room for sales";
  }
  if (min_free_bytes_ <= 0 || fs_path_.empty()) return "";
  struct statvfs fs {};
  if (::statvfs(fs_path_.c_str(), &fs) != 0) return "";  // unknown: let SQLite decide
  const auto free_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  if (free_bytes - bytes >= min_free_bytes_) return "";
  return "disk almost full (" + std::to_string(free_bytes) + " bytes free, min_free_bytes " +
         std::to_string(min_free_bytes_) + "): telemetry dropped to keep room for sales";
}

void OutboxWriter::SetOnCommit(OnCommit fn) {
  std::lock_guard lock(worker_.mu());
  on_commit_ = std::move(fn);
}

WriterStats OutboxWriter::Stats() const {
  std::lock_guard lock(worker_.mu());
  return stats_;
}

void OutboxWriter::Run() {
  std::unique_lock lock(worker_.mu());
  std::chrono::milliseconds backoff(0);  // after a failed commit: acks alone wait this long
  while (true) {
    if (backoff.count() > 0) {
      // Requests are still served at once (they get a clear answer); a pending ack is retried
      // when the backoff ends, not in a busy loop while the disk stays full.
      worker_.WaitFor(lock, backoff, [this] { return !queue_.empty(); });
    } else {
      worker_.WaitFor(lock, std::chrono::seconds(60), [this] {
        return !queue_.empty() || pending_ack_ > stats_.counters.acked_seq ||
               new_epoch_ || !redactions_.empty();
      });
    }
    if (!redactions_.empty()) {
      std::vector<RedactRequest> redactions;
      redactions.swap(redactions_);
      lock.unlock();
      for (RedactRequest& r : redactions) r.done(store_->Redact(r.matches));
      lock.lock();
      stats_.counters = store_->counters();
      if (queue_.empty() && pending_ack_ <= stats_.counters.acked_seq && !new_epoch_ &&
          !worker_.stopping()) {
        continue;
      }
    }
    if (worker_.stopping() && queue_.empty()) break;
    std::deque<Request> group;
    group.swap(queue_);
    std::optional<EpochRequest> new_epoch;
    new_epoch.swap(new_epoch_);
    const uint64_t ack = new_epoch ? 0 : pending_ack_;
    lock.unlock();
    const bool ok = ProcessGroup(group, ack, new_epoch);
    backoff = ok ? std::chrono::milliseconds(0)
                 : std::min(std::max(backoff * 2, std::chrono::milliseconds(50)), kMaxRetryBackoff);
    lock.lock();
  }
}

bool OutboxWriter::ProcessGroup(std::deque<Request>& group, uint64_t ack,
                                const std::optional<EpochRequest>& new_epoch) {
  const int64_t now = clock_->NowMillis();
  std::vector<AppendResult> results(group.size());
  Status st = store_->Begin();
  if (st.ok() && new_epoch) {
    st = store_->StartNewEpoch(now, new_epoch->reason, new_epoch->detail);
    if (st.ok()) {
      spdlog::warn("outbox: new epoch {} ({}: {}); {} waiting events renumbered 1..{}",
                   EpochHex(store_->counters().epoch), new_epoch->reason, new_epoch->detail,
                   store_->counters().backlog, store_->counters().last_seq);
    }
  }
  if (st.ok() && ack > store_->counters().acked_seq) st = store_->AckUpTo(ack);
  if (st.ok() && now - last_prune_ms_ > 60'000) {
    st = store_->PruneEventIds(now - dedupe_window_ms_);
    last_prune_ms_ = now;
  }
  int64_t refused = 0;
  int64_t refused_disk = 0;
  int64_t duplicates = 0;
  int64_t accepted = 0;
  bool business = new_epoch.has_value();
  std::vector<bool> dup;
  for (size_t i = 0; st.ok() && i < group.size(); ++i) {
    const auto& events = group[i].events;
    int64_t bytes = 0;
    for (const auto& e : events) bytes += OutboxStore::RowBytes(e);
    if (AllTelemetry(events)) {
      std::string why = TelemetryRefusal(bytes);
      if (!why.empty()) {
        results[i].status = Status(Code::kFull, std::move(why));
        continue;
      }
    }
    if (store_->counters().backlog_bytes + bytes > budget_bytes_) {
      results[i].status = Status(Code::kFull,
          "outbox budget full: " + std::to_string(store_->counters().backlog_bytes) + " of " +
          std::to_string(budget_bytes_) + " bytes hold events not yet acknowledged by the hub");
      refused += static_cast<int64_t>(events.size());
      continue;
    }
    st = store_->Append(events, now, &dup);
    if (!st.ok()) break;
    for (bool d : dup) {
      if (d) ++results[i].duplicates; else ++results[i].stored;
    }
    duplicates += static_cast<int64_t>(results[i].duplicates);
    accepted += static_cast<int64_t>(events.size());
    if (results[i].stored > 0 && !AllTelemetry(events)) business = true;
  }
  if (st.ok()) st = store_->Commit();
  if (!st.ok()) {
    spdlog::error("outbox: group commit failed: {}", st.ToString());
    store_->Rollback();
    // SQLITE_FULL: the outbox's disk (not the budget) is full. Say so to the POS (507), keep
    // everything already committed, and try again with the next request or ack.
    const bool disk_full = st.code() == Code::kFull;
    const Status refusal =
        disk_full ? Status(Code::kFull, "outbox disk full: the file system holding the outbox "
                                        "has no room left (" + st.message() +
                                        "); nothing accepted before is lost, retry later")
                  : Status(Code::kUnavailable, "outbox write failed: " + st.message());
    for (size_t i = 0; i < group.size(); ++i) {
      if (!results[i].status.ok()) continue;
      results[i] = AppendResult{refusal, 0, 0};
      if (disk_full) refused_disk += static_cast<int64_t>(group[i].events.size());
    }
    accepted = 0;
    duplicates = 0;
  }
  OnCommit notify;
  uint64_t last_seq = 0;
  {
    std::lock_guard lock(worker_.mu());
    stats_.counters = store_->counters();
    stats_.resets = store_->resets();
    if (new_epoch && !st.ok()) new_epoch_ = new_epoch;  // retried at the next group
    stats_.accepted_total += accepted;
    stats_.refused_full += refused;
    stats_.refused_disk_full += refused_disk;
    stats_.duplicates_total += duplicates;
    stats_.commits += 1;
    notify = on_commit_;
    last_seq = stats_.counters.last_seq;
  }
  for (size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
  if (notify && st.ok() && (accepted > duplicates || new_epoch)) notify(last_seq, business);
  return st.ok();
}

}  // namespace cjd::agent
