// Outbox epochs and recovery: a new epoch renumbers what waits, acks of another epoch delete
// nothing, a pre-epoch outbox is upgraded, a damaged file is moved aside (never deleted).
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "agent/outbox/outbox_recovery.h"
#include "agent/outbox/outbox_store.h"
#include "agent/outbox/outbox_writer.h"
#include "shared/core/clock.h"
#include "tests/support/temp_dir.h"

namespace cjd::agent {
namespace {

namespace fs = std::filesystem;

PendingEvent Ev(const std::string& id) { return PendingEvent{id, 1, 1'700'000'000'000, "{}"}; }

std::vector<WireEvent> ReadAll(const std::string& path) {
  auto reader = OutboxReader::Open(path);
  EXPECT_TRUE(reader.ok());
  std::vector<WireEvent> batch;
  EXPECT_TRUE((*reader)->ReadBatch(0, 1000, 1 << 20, &batch).ok());
  return batch;
}

class OutboxEpochTest : public ::testing::Test {
 protected:
  std::string Path() { return dir_.Join("outbox.db"); }
  void Append(OutboxStore& s, std::vector<PendingEvent> events) {
    std::vector<bool> dup;
    ASSERT_TRUE(s.Begin().ok());
    ASSERT_TRUE(s.Append(events, 1, &dup).ok());
    ASSERT_TRUE(s.Commit().ok());
  }
  cjd::testing::TempDir dir_;
  FakeClock clock_;
};

TEST_F(OutboxEpochTest, NewOutboxGetsARandomEpochThatSurvivesReopening) {
  uint64_t epoch = 0;
  {
    auto store = OutboxStore::Open(Path());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    epoch = (*store)->counters().epoch;
    EXPECT_NE(epoch, 0u);
    EXPECT_TRUE((*store)->resets().empty());
  }
  auto again = OutboxStore::Open(Path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->counters().epoch, epoch);
  // Another outbox (a new disk): another epoch.
  auto other = OutboxStore::Open(dir_.Join("other.db"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)->counters().epoch, epoch);
}

TEST_F(OutboxEpochTest, NewEpochRenumbersWaitingRowsFromOneAndKeepsTheirIds) {
  auto store = OutboxStore::Open(Path());
  ASSERT_TRUE(store.ok());
  OutboxStore& s = **store;
  Append(s, {Ev("a"), Ev("b"), Ev("c"), Ev("d"), Ev("e")});
  ASSERT_TRUE(s.Begin().ok());
  ASSERT_TRUE(s.AckUpTo(2).ok());
  ASSERT_TRUE(s.Commit().ok());
  const uint64_t old_epoch = s.counters().epoch;

  ASSERT_TRUE(s.Begin().ok());
  ASSERT_TRUE(s.StartNewEpoch(1234, "restored", "test").ok());
  ASSERT_TRUE(s.Commit().ok());
  EXPECT_NE(s.counters().epoch, old_epoch);
  EXPECT_EQ(s.counters().last_seq, 3u);
  EXPECT_EQ(s.counters().acked_seq, 0u);
  EXPECT_EQ(s.counters().backlog, 3);
  const auto rows = ReadAll(Path());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].seq, 1u);
  EXPECT_EQ(rows[0].event_id, "c");
  EXPECT_EQ(rows[2].seq, 3u);
  EXPECT_EQ(rows[2].event_id, "e");
  ASSERT_EQ(s.resets().size(), 1u);
  EXPECT_EQ(s.resets()[0].reason, "restored");
  EXPECT_EQ(s.resets()[0].epoch, s.counters().epoch);

  // Retries of ids accepted before the reset are still duplicates; new events continue at 4.
  std::vector<bool> dup;
  ASSERT_TRUE(s.Begin().ok());
  ASSERT_TRUE(s.Append({Ev("a"), Ev("d"), Ev("f")}, 1, &dup).ok());
  ASSERT_TRUE(s.Commit().ok());
  EXPECT_EQ(dup, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(s.counters().last_seq, 4u);

  // Everything survives a reopen: epoch, numbering, the recorded reset.
  const uint64_t epoch = s.counters().epoch;
  store->reset();
  auto again = OutboxStore::Open(Path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->counters().epoch, epoch);
  EXPECT_EQ((*again)->counters().last_seq, 4u);
  ASSERT_EQ((*again)->resets().size(), 1u);
  EXPECT_EQ((*again)->resets()[0].detail, "test");
}

TEST_F(OutboxEpochTest, PreEpochOutboxIsUpgradedAndItsWaitingRowsRenumbered) {
  {
    // The version 1 schema as released, with rows 1..3 of which 1 was acked.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
    const char* sql = R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO meta VALUES ('last_seq', 3), ('acked_seq', 1);
      CREATE TABLE outbox (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, type INTEGER NOT NULL,
        occurred_at_ms INTEGER NOT NULL, accepted_at_ms INTEGER NOT NULL, body BLOB NOT NULL);
      INSERT INTO outbox VALUES (2, 'b', 1, 0, 0, '{}'), (3, 'c', 1, 0, 0, '{}');
      CREATE TABLE event_ids (event_id TEXT PRIMARY KEY, seq INTEGER NOT NULL,
        accepted_at_ms INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO event_ids VALUES ('a', 1, 0), ('b', 2, 0), ('c', 3, 0);
      CREATE INDEX event_ids_by_time ON event_ids (accepted_at_ms);
      PRAGMA user_version = 1;
    )sql";
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = OutboxStore::Open(Path(), 99);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_NE((*store)->counters().epoch, 0u);
  EXPECT_EQ((*store)->counters().last_seq, 2u);
  EXPECT_EQ((*store)->counters().acked_seq, 0u);
  ASSERT_EQ((*store)->resets().size(), 1u);
  EXPECT_EQ((*store)->resets()[0].reason, "upgrade");
  const auto rows = ReadAll(Path());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].seq, 1u);
  EXPECT_EQ(rows[0].event_id, "b");
}

TEST_F(OutboxEpochTest, WriterIgnoresAcksOfAnotherEpochAndStartsANewOneOnRequest) {
  auto store = OutboxStore::Open(Path());
  ASSERT_TRUE(store.ok());
  OutboxWriter writer(std::move(*store), 1 << 20, 3'600'000, &clock_);
  writer.Start();
  auto submit = [&](std::vector<PendingEvent> events) {
    std::promise<AppendResult> p;
    writer.Submit(std::move(events), [&p](AppendResult r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  ASSERT_TRUE(submit({Ev("a"), Ev("b"), Ev("c")}).status.ok());
  const uint64_t epoch = writer.Stats().counters.epoch;
  EXPECT_FALSE(writer.Ack(epoch + 1, 3));
  ASSERT_TRUE(submit({Ev("d")}).status.ok());  // a group runs: nothing was deleted
  EXPECT_EQ(writer.Stats().counters.backlog, 4);
  EXPECT_TRUE(writer.Ack(epoch, 1));
  ASSERT_TRUE(submit({Ev("e")}).status.ok());
  EXPECT_EQ(writer.Stats().counters.acked_seq, 1u);

  writer.NewEpoch("restored", "unit test");
  ASSERT_TRUE(submit({Ev("f")}).status.ok());
  const WriterStats st = writer.Stats();
  EXPECT_NE(st.counters.epoch, epoch);
  EXPECT_EQ(st.counters.acked_seq, 0u);
  EXPECT_EQ(st.counters.last_seq, 5u);  // b c d e renumbered 1..4, then f
  EXPECT_EQ(st.counters.backlog, 5);
  ASSERT_EQ(st.resets.size(), 1u);
  EXPECT_EQ(st.resets[0].reason, "restored");
  // A late ack of the old epoch deletes nothing.
  EXPECT_FALSE(writer.Ack(epoch, 5));
  writer.Stop();
  EXPECT_EQ(ReadAll(Path()).size(), 5u);
}

TEST_F(OutboxEpochTest, DamagedOutboxIsMovedAsideAndAFreshOneRecordsTheReset) {
  uint64_t old_epoch = 0;
  {
    auto store = OutboxStore::Open(Path());
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 50; ++i) Append(**store, {Ev("e" + std::to_string(i))});
    old_epoch = (*store)->counters().epoch;
  }
  // Garbage over every page but the first (the header still says "SQLite format 3").
  const auto size = fs::file_size(Path());
  ASSERT_GT(size, 4096u);
  {
    std::fstream f(Path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    std::string junk(size - 4096, '\0');
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 131 + 7) & 0xff);
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto found = CheckOutboxIntegrity(Path());
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_FALSE(found->empty());

  auto store = OpenOutboxRecovering(Path(), 1'700'000'000'000);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_NE((*store)->counters().epoch, old_epoch);
  EXPECT_EQ((*store)->counters().last_seq, 0u);
  ASSERT_EQ((*store)->resets().size(), 1u);
  EXPECT_EQ((*store)->resets()[0].reason, "corrupt");
  const std::string moved = Path() + ".corrupt-20231114T221320Z";
  EXPECT_NE((*store)->resets()[0].detail.find(moved), std::string::npos)
      << (*store)->resets()[0].detail;
  EXPECT_TRUE(fs::exists(moved));
  EXPECT_EQ(fs::file_size(moved), size);  // moved, not deleted or truncated
  Append(**store, {Ev("new")});
  EXPECT_EQ((*store)->counters().last_seq, 1u);
}

TEST_F(OutboxEpochTest, FileThatIsNotADatabaseIsMovedAside) {
  { std::ofstream(Path()) << std::string(8192, 'x'); }
  auto store = OpenOutboxRecovering(Path(), 1'700'000'000'000);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_EQ((*store)->resets().size(), 1u);
  EXPECT_TRUE(fs::exists(Path() + ".corrupt-20231114T221320Z"));
}

TEST_F(OutboxEpochTest, SoundOutboxIsLeftAlone) {
  {
    auto store = OutboxStore::Open(Path());
    Append(**store, {Ev("a")});
  }
  auto store = OpenOutboxRecovering(Path(), 1);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->resets().empty());
  EXPECT_EQ((*store)->counters().last_seq, 1u);
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().string().find(".corrupt-"), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace cjd::agent
