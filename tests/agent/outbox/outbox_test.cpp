#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "agent/outbox/outbox_store.h"
#include "agent/outbox/outbox_writer.h"
#include "shared/core/clock.h"
#include "tests/support/temp_dir.h"

namespace cjd::agent {
namespace {

PendingEvent Ev(const std::string& id, const std::string& body = R"({"x":1})") {
  return PendingEvent{id, 1, 1'700'000'000'000, body};
}

class OutboxTest : public ::testing::Test {
 protected:
  std::string Path() { return dir_.Join("outbox.db"); }
  cjd::testing::TempDir dir_;
  FakeClock clock_;
};

TEST_F(OutboxTest, AssignsContiguousSequenceNumbers) {
  auto store = OutboxStore::Open(Path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::vector<bool> dup;
  ASSERT_TRUE((*store)->Begin().ok());
  ASSERT_TRUE((*store)->Append({Ev("a"), Ev("b"), Ev("c")}, 1, &dup).ok());
  ASSERT_TRUE((*store)->Commit().ok());
  EXPECT_EQ((*store)->counters().last_seq, 3u);
  EXPECT_EQ((*store)->counters().backlog, 3);

  auto reader = OutboxReader::Open(Path());
  ASSERT_TRUE(reader.ok());
  std::vector<WireEvent> batch;
  ASSERT_TRUE((*reader)->ReadBatch(0, 10, 1 << 20, &batch).ok());
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].seq, 1u);
  EXPECT_EQ(batch[2].seq, 3u);
  EXPECT_EQ(batch[1].event_id, "b");
}

TEST_F(OutboxTest, KeepsRowsUntilHubAcknowledges) {
  {
    auto store = OutboxStore::Open(Path());
    ASSERT_TRUE(store.ok());
    std::vector<bool> dup;
    ASSERT_TRUE((*store)->Begin().ok());
    ASSERT_TRUE((*store)->Append({Ev("a"), Ev("b"), Ev("c"), Ev("d")}, 1, &dup).ok());
    ASSERT_TRUE((*store)->Commit().ok());
    ASSERT_TRUE((*store)->Begin().ok());
    ASSERT_TRUE((*store)->AckUpTo(2).ok());
    ASSERT_TRUE((*store)->Commit().ok());
  }
  // Reopened (as after a crash): rows 3 and 4 are still there, the sequence continues.
  auto store = OutboxStore::Open(Path());
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->counters().acked_seq, 2u);
  EXPECT_EQ((*store)->counters().last_seq, 4u);
  EXPECT_EQ((*store)->counters().backlog, 2);
  auto reader = OutboxReader::Open(Path());
  std::vector<WireEvent> batch;
  ASSERT_TRUE((*reader)->ReadBatch(0, 10, 1 << 20, &batch).ok());
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].event_id, "c");
  std::vector<bool> dup;
  ASSERT_TRUE((*store)->Begin().ok());
  ASSERT_TRUE((*store)->Append({Ev("e")}, 1, &dup).ok());
  ASSERT_TRUE((*store)->Commit().ok());
  EXPECT_EQ((*store)->counters().last_seq, 5u);
}

TEST_F(OutboxTest, AckBeyondLastSequenceIsClamped) {
  auto store = OutboxStore::Open(Path());
  std::vector<bool> dup;
  ASSERT_TRUE((*store)->Begin().ok());
  ASSERT_TRUE((*store)->Append({Ev("a")}, 1, &dup).ok());
  ASSERT_TRUE((*store)->AckUpTo(99).ok());
  ASSERT_TRUE((*store)->Commit().ok());
  EXPECT_EQ((*store)->counters().acked_seq, 1u);
  EXPECT_EQ((*store)->counters().backlog, 0);
  EXPECT_EQ((*store)->counters().backlog_bytes, 0);
}

TEST_F(OutboxTest, SameEventIdIsNeverStoredTwiceEvenAfterAck) {
  auto store = OutboxStore::Open(Path());
  std::vector<bool> dup;
  ASSERT_TRUE((*store)->Begin().ok());
  ASSERT_TRUE((*store)->Append({Ev("a"), Ev("a")}, 1, &dup).ok());
  EXPECT_FALSE(dup[0]);
  EXPECT_TRUE(dup[1]);
  ASSERT_TRUE((*store)->AckUpTo(1).ok());
  ASSERT_TRUE((*store)->Commit().ok());
  ASSERT_TRUE((*store)->Begin().ok());
  ASSERT_TRUE((*store)->Append({Ev("a"), Ev("b")}, 2, &dup).ok());
  ASSERT_TRUE((*store)->Commit().ok());
  EXPECT_TRUE(dup[0]);
  EXPECT_FALSE(dup[1]);
  EXPECT_EQ((*store)->counters().last_seq, 2u);
}

TEST_F(OutboxTest, ForgetsAcknowledgedIdsAfterTheWindowOnly) {
  auto store = OutboxStore::Open(Path());
  std::vector<bool> dup;
  ASSERT_TRUE((*store)->Begin().ok());
  ASSERT_TRUE((*store)->Append({Ev("old")}, 1000, &dup).ok());
  ASSERT_TRUE((*store)->Append({Ev("unacked")}, 1000, &dup).ok());
  ASSERT_TRUE((*store)->AckUpTo(1).ok());
  ASSERT_TRUE((*store)->PruneEventIds(5000).ok());
  ASSERT_TRUE((*store)->Commit().ok());
  ASSERT_TRUE((*store)->Begin().ok());
  ASSERT_TRUE((*store)->Append({Ev("old"), Ev("unacked")}, 6000, &dup).ok());
  ASSERT_TRUE((*store)->Commit().ok());
  EXPECT_FALSE(dup[0]) << "pruned id is accepted again (the hub still dedupes it)";
  EXPECT_TRUE(dup[1]) << "an id whose event is still in the outbox is never forgotten";
}

TEST_F(OutboxTest, WriterGroupsConcurrentRequestsIntoFewCommits) {
  auto store = OutboxStore::Open(Path());
  ASSERT_TRUE(store.ok());
  OutboxWriter writer(std::move(*store), 1 << 30, 3'600'000, &clock_);
  writer.Start();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::promise<AppendResult> p;
        writer.Submit({Ev("t" + std::to_string(t) + "-" + std::to_string(i))},
                      [&p](AppendResult r) { p.set_value(std::move(r)); });
        if (p.get_future().get().status.ok()) ok.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  const WriterStats s = writer.Stats();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(s.counters.last_seq, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.accepted_total, kThreads * kPerThread);
  EXPECT_LT(s.commits, kThreads * kPerThread) << "concurrent requests share commits";
}

TEST_F(OutboxTest, RefusesWholeRequestWhenBudgetIsFullAndAcceptsAgainAfterAck) {
  auto store = OutboxStore::Open(Path());
  const std::string body(1000, 'x');
  const int64_t row = OutboxStore::RowBytes(Ev("e000", body));
  OutboxWriter writer(std::move(*store), row * 3, 3'600'000, &clock_);
  writer.Start();
  auto submit = [&](std::vector<PendingEvent> evs) {
    std::promise<AppendResult> p;
    writer.Submit(std::move(evs), [&p](AppendResult r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  EXPECT_TRUE(submit({Ev("e001", body), Ev("e002", body)}).status.ok());
  AppendResult full = submit({Ev("e003", body), Ev("e004", body)});
  EXPECT_EQ(full.status.code(), Code::kFull);
  EXPECT_EQ(writer.Stats().counters.last_seq, 2u) << "nothing of the refused request is stored";
  EXPECT_EQ(writer.Stats().refused_full, 2);
  EXPECT_TRUE(writer.Ack(writer.Stats().counters.epoch, 2));
  // The ack is applied by the writer thread before the next group.
  EXPECT_TRUE(submit({Ev("e003", body), Ev("e004", body)}).status.ok());
  EXPECT_EQ(writer.Stats().counters.backlog, 2);
}

}  // namespace
}  // namespace cjd::agent
