// EventLogReader: the store's reads of the event log for the projection (no ATTACH of hub.db), on
// a real SQLite file written by SqliteHubStore.
#include "hub/store/event_log_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "hub/store/sqlite_hub_store.h"
#include "shared/protocol/keys.h"
#include "shared/storage/sqlite.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub {
namespace {

using cjd::testing::TempDir;

class EventLogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    auto s = SqliteHubStore::Open(path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    std::vector<CollectEvent> events;
    for (int i = 1; i <= 5; ++i) {
      CollectEvent e;
      e.event_id = "e" + std::to_string(i);
      e.type = EventType::kPageView;
      e.occurred_at_ms = 1'795'428'000'000 + i;
      e.body = R"({"event_id":"e)" + std::to_string(i) + R"("})";
      events.push_back(std::move(e));
    }
    ASSERT_TRUE(store_->CommitCollect("webshop", events, 1000).ok());
    auto r = OpenSqliteEventLogReader(path());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    reader_ = std::move(*r);
  }
  std::string path() const { return dir_.Join("hub.db").string(); }

  TempDir dir_;
  std::unique_ptr<SqliteHubStore> store_;
  std::unique_ptr<EventLogReader> reader_;
};

TEST_F(EventLogReaderTest, ReadsAfterAnIdInIdOrderUpToTheLimit) {
  std::vector<std::pair<int64_t, std::string>> rows;
  ASSERT_TRUE(reader_->ReadAfter(0, 3, &rows).ok());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].second, R"({"event_id":"e1"})");
  EXPECT_LT(rows[0].first, rows[1].first);
  EXPECT_LT(rows[1].first, rows[2].first);

  std::vector<std::pair<int64_t, std::string>> rest;
  ASSERT_TRUE(reader_->ReadAfter(rows.back().first, 100, &rest).ok());
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[1].second, R"({"event_id":"e5"})");

  std::vector<std::pair<int64_t, std::string>> none;
  ASSERT_TRUE(reader_->ReadAfter(rest.back().first, 100, &none).ok());
  EXPECT_TRUE(none.empty());

  // An event committed after the reader opened is read by the next call.
  CollectEvent late;
  late.event_id = "e6";
  late.occurred_at_ms = 1'795'428'000'006;
  late.body = R"({"event_id":"e6"})";
  ASSERT_TRUE(store_->CommitCollect("webshop", {late}, 2000).ok());
  ASSERT_TRUE(reader_->ReadAfter(rest.back().first, 100, &none).ok());
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].second, R"({"event_id":"e6"})");
}

TEST_F(EventLogReaderTest, VisitsTheGivenIdsInTheirOrderAndSkipsUnknownOnes) {
  std::vector<std::pair<int64_t, std::string>> rows;
  ASSERT_TRUE(reader_->ReadAfter(0, 100, &rows).ok());
  ASSERT_EQ(rows.size(), 5u);
  const std::vector<int64_t> ids = {rows[4].first, 999'999, rows[0].first, rows[2].first};
  std::vector<std::string> seen;
  ASSERT_TRUE(reader_->Visit(ids, [&](const LoggedEvent& e) -> Status {
    seen.push_back(std::string(e.event_id) + "@" + std::string(e.source) + "=" +
                   std::string(e.body));
    return Status::Ok();
  }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{R"(e5@webshop={"event_id":"e5"})",
                                            R"(e1@webshop={"event_id":"e1"})",
                                            R"(e3@webshop={"event_id":"e3"})"}));

  // One id: no transaction of its own, same answer.
  seen.clear();
  const std::vector<int64_t> one = {rows[1].first};
  ASSERT_TRUE(reader_->Visit(one, [&](const LoggedEvent& e) -> Status {
    seen.emplace_back(e.event_id);
    EXPECT_EQ(e.id, rows[1].first);
    return Status::Ok();
  }).ok());
  EXPECT_EQ(seen, std::vector<std::string>{"e2"});
}

TEST_F(EventLogReaderTest, AVisitStopsAtTheFirstErrorAndTheReaderStaysUsable) {
  std::vector<std::pair<int64_t, std::string>> rows;
  ASSERT_TRUE(reader_->ReadAfter(0, 100, &rows).ok());
  std::vector<int64_t> ids;
  for (const auto& r : rows) ids.push_back(r.first);
  int calls = 0;
  Status st = reader_->Visit(ids, [&](const LoggedEvent&) -> Status {
    return ++calls == 2 ? Status::Invalid("stop here") : Status::Ok();
  });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(calls, 2);
  // The read transaction ended: the store still commits, and the reader sees the new event.
  CollectEvent late;
  late.event_id = "e7";
  late.occurred_at_ms = 1'795'428'000'007;
  late.body = R"({"event_id":"e7"})";
  ASSERT_TRUE(store_->CommitCollect("webshop", {late}, 3000).ok());
  std::vector<std::pair<int64_t, std::string>> after;
  ASSERT_TRUE(reader_->ReadAfter(rows.back().first, 100, &after).ok());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].second, R"({"event_id":"e7"})");
}

TEST_F(EventLogReaderTest, AMissingLogIsAnErrorNotANewEmptyFile) {
  // Opened read-only: a wrong path fails instead of creating an empty log to project from.
  const std::string missing = dir_.Join("nope.db").string();
  EXPECT_FALSE(OpenSqliteEventLogReader(missing).ok());
  EXPECT_FALSE(std::filesystem::exists(missing));
}

}  // namespace
}  // namespace cjd::hub
