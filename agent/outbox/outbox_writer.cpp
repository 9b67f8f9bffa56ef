#include "agent/outbox/outbox_writer.h"

#include <spdlog/spdlog.h>

namespace cjd::agent {

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

void OutboxWriter::Start() { thread_ = std::thread([this] { Run(); }); }

void OutboxWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxWriter::Submit(std::vector<PendingEvent> events, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stop_) {
      queue_.push_back(Request{std::move(events), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(AppendResult{Status(Code::kUnavailable, "the agent is shutting down"), 0, 0});
}

bool OutboxWriter::Ack(uint64_t epoch, uint64_t seq) {
  std::lock_guard lock(mu_);
  if (epoch != stats_.counters.epoch || new_epoch_) return false;
  if (seq > pending_ack_) pending_ack_ = seq;
  cv_.notify_one();
  return true;
}

void OutboxWriter::NewEpoch(std::string reason, std::string detail) {
  std::lock_guard lock(mu_);
  new_epoch_ = EpochRequest{std::move(reason), std::move(detail)};
  pending_ack_ = 0;
  cv_.notify_one();
}

void OutboxWriter::SetOnCommit(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_commit_ = std::move(fn);
}

WriterStats OutboxWriter::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void OutboxWriter::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait_for(lock, std::chrono::seconds(60), [this] {
      return stop_ || !queue_.empty() || pending_ack_ > stats_.counters.acked_seq || new_epoch_;
    });
    if (stop_ && queue_.empty()) break;
    std::deque<Request> group;
    group.swap(queue_);
    std::optional<EpochRequest> new_epoch;
    new_epoch.swap(new_epoch_);
    const uint64_t ack = new_epoch ? 0 : pending_ack_;
    lock.unlock();
    ProcessGroup(group, ack, new_epoch);
    lock.lock();
  }
}

void OutboxWriter::ProcessGroup(std::deque<Request>& group, uint64_t ack,
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
  int64_t duplicates = 0;
  int64_t accepted = 0;
  std::vector<bool> dup;
  for (size_t i = 0; st.ok() && i < group.size(); ++i) {
    const auto& events = group[i].events;
    int64_t bytes = 0;
    for (const auto& e : events) bytes += OutboxStore::RowBytes(e);
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
  }
  if (st.ok()) st = store_->Commit();
  if (!st.ok()) {
    spdlog::error("outbox: group commit failed: {}", st.ToString());
    store_->Rollback();
    for (auto& r : results) {
      if (r.status.ok()) r = AppendResult{Status(Code::kUnavailable, "outbox write failed: " + st.message()), 0, 0};
    }
    accepted = 0;
    duplicates = 0;
  }
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    stats_.counters = store_->counters();
    stats_.resets = store_->resets();
    if (new_epoch && !st.ok()) new_epoch_ = new_epoch;  // retried at the next group
    stats_.accepted_total += accepted;
    stats_.refused_full += refused;
    stats_.duplicates_total += duplicates;
    stats_.commits += 1;
    notify = on_commit_;
  }
  for (size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
  if (notify && st.ok() && (accepted > duplicates || new_epoch)) notify();
}

}  // namespace cjd::agent
