// The outbox writer when room runs out: telemetry (offer impressions) is refused first, a full
// disk refuses sales with kFull (507) naming the disk, a failed commit is not retried in a busy
// loop, nothing committed is lost and the database stays sound, and the writer recovers by itself
// once space returns. The disk cases mount a small tmpfs (root only; skipped with the reason
// otherwise).
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "agent/outbox/outbox_store.h"
#include "agent/outbox/outbox_writer.h"
#include "shared/core/clock.h"
#include "shared/event/event.h"
#include "shared/storage/sqlite.h"
#include "tests/support/small_fs.h"
#include "tests/support/temp_dir.h"

namespace cjd::agent {
namespace {

using cjd::testing::SmallFilesystem;

PendingEvent Sale(const std::string& id, size_t body_bytes = 200) {
  return PendingEvent{id, static_cast<uint8_t>(EventType::kTransaction), 1'700'000'000'000,
                      std::string(body_bytes, 's')};
}
PendingEvent Impression(const std::string& id, size_t body_bytes = 200) {
  return PendingEvent{id, static_cast<uint8_t>(EventType::kOfferImpression), 1'700'000'000'000,
                      std::string(body_bytes, 'i')};
}

AppendResult SubmitAndWait(OutboxWriter& writer, std::vector<PendingEvent> events) {
  std::promise<AppendResult> p;
  writer.Submit(std::move(events), [&p](AppendResult r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

std::string IntegrityCheck(const std::string& path) {
  sqlite::OpenOptions o;
  o.read_only = true;
  auto db = sqlite::Database::Open(path, o);
  if (!db.ok()) return db.status().ToString();
  auto stmt = (*db)->Prepare("PRAGMA integrity_check");
  if (!stmt.ok()) return stmt.status().ToString();
  auto row = stmt->Step();
  if (!row.ok()) return row.status().ToString();
  return *row ? stmt->ColumnText(0) : "no row";
}

TEST(OutboxTelemetry, ImpressionsAreRefusedBeforeSalesNearTheBudget) {
  cjd::testing::TempDir dir;
  FakeClock clock;
  auto store = OutboxStore::Open(dir.Join("outbox.db").string());
  ASSERT_TRUE(store.ok());
  const int64_t row = OutboxStore::RowBytes(Sale("s000"));
  OutboxWriter writer(std::move(*store), row * 10, 3'600'000, &clock);
  writer.Start();
  // 8 of 10 rows: an impression still fits under 90 % of the budget...
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(SubmitAndWait(writer, {Sale("s" + std::to_string(100 + i))}).status.ok());
  }
  EXPECT_TRUE(SubmitAndWait(writer, {Impression("i001")}).status.ok());
  // ...at 9 of 10 it would pass 90 %: refused, while a sale still gets the last row.
  const AppendResult refused = SubmitAndWait(writer, {Impression("i002")});
  EXPECT_EQ(refused.status.code(), Code::kFull);
  EXPECT_NE(refused.status.message().find("telemetry"), std::string::npos)
      << refused.status.message();
  EXPECT_TRUE(SubmitAndWait(writer, {Sale("s200")}).status.ok());
  EXPECT_EQ(writer.Stats().counters.backlog, 10);
  EXPECT_EQ(writer.Stats().refused_full, 0) << "no sale was refused";
}

class OutboxDiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    fs_ = SmallFilesystem::Mount(dir_.Join("data"), 4 << 20, &why);
    if (!fs_) GTEST_SKIP() << why;
    path_ = (fs_->path() / "outbox.db").string();
    auto store = OutboxStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    writer_ = std::make_unique<OutboxWriter>(std::move(*store), 1ll << 30, 3'600'000, &clock_);
    writer_->SetTelemetryLimits(fs_->path().string(), 256 << 10);
    writer_->Start();
  }
  void TearDown() override {
    if (writer_) writer_->Stop();
    writer_.reset();
  }

  cjd::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<SmallFilesystem> fs_;
  std::string path_;
  std::unique_ptr<OutboxWriter> writer_;
};

TEST_F(OutboxDiskFull, SalesGetKFullNamingTheDiskAndTheWriterRecoversWhenSpaceReturns) {
  // A filler leaves 1 MiB, then sales until the disk is full (bounded: 1 MiB cannot hold 2,000
  // rows of 2 KiB).
  fs_->Fill(1 << 20);
  int stored = 0;
  AppendResult last;
  for (int i = 0; i < 2000; ++i) {
    last = SubmitAndWait(*writer_, {Sale("a" + std::to_string(i), 2048)});
    if (!last.status.ok()) break;
    ++stored;
  }
  ASSERT_GT(stored, 0);
  ASSERT_EQ(last.status.code(), Code::kFull) << last.status.ToString();
  EXPECT_NE(last.status.message().find("disk full"), std::string::npos) << last.status.message();
  const WriterStats full = writer_->Stats();
  EXPECT_EQ(full.counters.last_seq, static_cast<uint64_t>(stored)) << "nothing half-stored";
  EXPECT_EQ(full.refused_disk_full, 1);
  EXPECT_EQ(full.refused_full, 0) << "the budget was not the cause";

  // Impressions were refused before the disk filled (min_free_bytes), sales used the reserve.
  EXPECT_EQ(SubmitAndWait(*writer_, {Impression("i1")}).status.code(), Code::kFull);

  // An ack of everything while the disk is full cannot commit (deleting rewrites every page
  // into the WAL, which cannot grow): it must be retried with a backoff, not in a busy loop.
  const uint64_t all = static_cast<uint64_t>(stored);
  const int64_t commits_before = writer_->Stats().commits;
  ASSERT_TRUE(writer_->Ack(writer_->Stats().counters.epoch, all));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const int64_t attempts = writer_->Stats().commits - commits_before;
  EXPECT_LE(attempts, 12) << "a failed commit is retried with a backoff, not in a busy loop";
  EXPECT_EQ(IntegrityCheck(path_), "ok");

  // Space returns: the ack goes through and sales are accepted again, by themselves.
  fs_->Release();
  EXPECT_TRUE(SubmitAndWait(*writer_, {Sale("b1", 2048)}).status.ok());
  for (int i = 0; i < 100 && writer_->Stats().counters.acked_seq < all; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const WriterStats after = writer_->Stats();
  EXPECT_EQ(after.counters.acked_seq, all);
  EXPECT_EQ(after.counters.last_seq, all + 1);
  EXPECT_EQ(after.counters.backlog, 1);
  writer_->Stop();
  writer_.reset();
  EXPECT_EQ(IntegrityCheck(path_), "ok");
  // Reopened: every accepted row is there.
  auto store = OutboxStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->counters().last_seq, all + 1);
  EXPECT_EQ((*store)->counters().acked_seq, all);
  EXPECT_EQ((*store)->counters().backlog, 1);
}

}  // namespace
}  // namespace cjd::agent
