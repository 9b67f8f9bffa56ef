// ErasureStore: requests and their devices' receipts, what is kept of the person and when it
// goes, and suppression; on both backends (privacy.db, and a real PostgreSQL: Debian's server,
// initdb in a temporary folder, tests/support/postgres.h; skipped with a reason without it).
#include "hub/privacy/erasure_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/postgres.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub::privacy {
namespace {

using cjd::testing::Postgres;

// One server for the whole binary (started on first use), a new database per test.
Postgres* SharedPostgres() {
  static Postgres pg = Postgres::Start();  // stopped, and its folder removed, at exit
  return &pg;
}

ErasureRequest NewRequest(const std::string& id) {
  ErasureRequest r;
  r.id = id;
  r.subject_type = 3;
  r.subject_key = std::string(16, '\x07');
  r.requested_ms = 1000;
  r.deadline_ms = 1000 + 3'600'000;
  return r;
}

class ErasureStoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (postgres()) {
      if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
      static std::atomic<int> n{0};
      location_ = SharedPostgres()->CreateDatabase("erasures_" + std::to_string(::getpid()) +
                                                   "_" + std::to_string(++n));
    } else {
      location_ = dir_.Join("privacy.db").string();
    }
    auto store = ErasureStore::Open(location_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  bool postgres() const { return GetParam() == "postgres"; }

  testing::TempDir dir_{"cjd-erasure-store-"};
  std::string location_;
  std::unique_ptr<ErasureStore> store_;
};

TEST_P(ErasureStoreContract, ReceiptsCompleteARequestAndOnlyListedDevicesCount) {
  ErasureStore& s = *store_;
  auto seq = s.Add(NewRequest("era_00000000000000000001"), "SEALED-SUBJECT");
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 1);
  EXPECT_EQ(s.Add(NewRequest("era_00000000000000000001"), "").status().code(), Code::kConflict);
  auto pending = s.HubPending();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(*s.SealedSubject("era_00000000000000000001"), "SEALED-SUBJECT");
  // The hub part's saved progress is kept until the hub part is done.
  EXPECT_EQ(*s.Progress("era_00000000000000000001"), "");
  ASSERT_TRUE(s.SaveProgress("era_00000000000000000001", "SEALED-PROGRESS").ok());
  EXPECT_EQ(*s.Progress("era_00000000000000000001"), "SEALED-PROGRESS");

  ASSERT_TRUE(s.CompleteHub("era_00000000000000000001", 2000, 42, 5, {"till-1", "kiosk-1"},
                            "SEALED-VALUES", {}, {})
                  .ok());
  EXPECT_EQ(s.CompleteHub("era_00000000000000000001", 2001, 42, 5, {}, "", {}, {}).code(),
            Code::kNotFound);  // done already
  EXPECT_TRUE(s.HubPending()->empty());
  EXPECT_EQ(*s.Progress("era_00000000000000000001"), "");
  auto owed = s.OwedTo("till-1");
  ASSERT_TRUE(owed.ok());
  ASSERT_EQ(owed->size(), 1u);
  EXPECT_EQ((*owed)[0].sealed_values, "SEALED-VALUES");
  EXPECT_EQ((*owed)[0].sent_ms, 0);
  ASSERT_TRUE(s.MarkSent("era_00000000000000000001", "till-1", 2100).ok());
  EXPECT_EQ((*s.OwedTo("till-1"))[0].sent_ms, 2100);
  EXPECT_EQ(*s.DevicesOwing(), (std::vector<std::string>{"kiosk-1", "till-1"}));

  // A device the request did not list, and a repeated receipt, change nothing.
  EXPECT_FALSE(*s.DeviceDone("era_00000000000000000001", "till-9", 2200));
  EXPECT_TRUE(*s.DeviceDone("era_00000000000000000001", "till-1", 2200));
  EXPECT_FALSE(*s.DeviceDone("era_00000000000000000001", "till-1", 2300));
  EXPECT_EQ(*s.ValuesIfAllDone("era_00000000000000000001"), "");  // the kiosk still owes
  auto r = s.Get("era_00000000000000000001");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_FALSE((*r)->done());
  EXPECT_EQ((*r)->done_ms(), 0);
  EXPECT_TRUE(*s.DeviceDone("era_00000000000000000001", "kiosk-1", 2500));
  EXPECT_EQ(*s.ValuesIfAllDone("era_00000000000000000001"), "SEALED-VALUES");
  ASSERT_TRUE(s.DropValues("era_00000000000000000001", 2600).ok());
  auto swept = s.HubDoneSince(2600);  // the sweep, for the other instances
  ASSERT_TRUE(swept.ok()) << swept.status().ToString();
  ASSERT_EQ(swept->size(), 1u);
  EXPECT_EQ((*swept)[0].hub_done_ms, 2000);
  EXPECT_EQ((*swept)[0].swept_ms, 2600);
  EXPECT_EQ(*s.ValuesIfAllDone("era_00000000000000000001"), "");
  EXPECT_EQ(*s.SealedSubject("era_00000000000000000001"), "");
  r = s.Get("era_00000000000000000001");
  EXPECT_TRUE((*r)->done());
  EXPECT_EQ((*r)->done_ms(), 2500);
  EXPECT_EQ((*r)->erased_profile, 42);
  EXPECT_EQ((*r)->events_redacted, 5);
  EXPECT_TRUE(s.DevicesOwing()->empty());
  auto counts = s.Count(3000);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->requests, 1);
  EXPECT_EQ(counts->pending, 0);
  EXPECT_EQ(counts->receipts_owed, 0);
  if (postgres()) return;  // (the rest is about the SQLite file itself)

  // The sealed values are gone from the file too (secure_delete, WAL emptied).
  for (const char* file : {"privacy.db", "privacy.db-wal"}) {
    std::ifstream in(dir_.Join(file), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    EXPECT_EQ(bytes.str().find("SEALED-VALUES"), std::string::npos) << file;
    EXPECT_EQ(bytes.str().find("SEALED-SUBJECT"), std::string::npos) << file;
    EXPECT_EQ(bytes.str().find("SEALED-PROGRESS"), std::string::npos) << file;
  }
}

TEST_P(ErasureStoreContract, NoDeviceToAskMeansDoneAtOnceAndSuppressionIsKept) {
  ErasureStore& s = *store_;
  ASSERT_TRUE(s.Add(NewRequest("era_00000000000000000002"), "SUBJ").ok());
  ASSERT_TRUE(s.Add(NewRequest("era_00000000000000000003"), "SUBJ").ok());
  const std::string k1(16, 'a'), k2(16, 'b');
  ASSERT_TRUE(
      s.CompleteHub("era_00000000000000000002", 3000, 0, 0, {}, "VALUES", {k1, k2}, {k1, k2}).ok());
  auto r = s.Get("era_00000000000000000002");
  EXPECT_TRUE((*r)->done());
  EXPECT_EQ(*s.SealedSubject("era_00000000000000000002"), "");
  auto keys = s.SuppressedKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 2u);
  // Paging in request order.
  auto page = s.List(0, 1);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, "era_00000000000000000002");
  page = s.List((*page)[0].seq, 10);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, "era_00000000000000000003");
  EXPECT_FALSE((*page)[0].hub_done);
  auto counts = s.Count(1000 + 3'600'000 + 1);  // past the second one's deadline
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->requests, 2);
  EXPECT_EQ(counts->hub_pending, 1);
  EXPECT_EQ(counts->pending, 1);
  EXPECT_EQ(counts->overdue, 1);
  // What an instance that did not run the hub part reads to apply it: the finished requests
  // from a time on, each with the person's keyed hashes.
  auto finished = s.HubDoneSince(3000);
  ASSERT_TRUE(finished.ok()) << finished.status().ToString();
  ASSERT_EQ(finished->size(), 1u);
  EXPECT_EQ((*finished)[0].id, "era_00000000000000000002");
  EXPECT_EQ((*finished)[0].hub_done_ms, 3000);
  EXPECT_EQ((*finished)[0].swept_ms, 0);
  EXPECT_FALSE((*finished)[0].suppress);  // NewRequest asks without
  std::vector<std::string> got = (*finished)[0].keys;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{k1, k2}));
  EXPECT_TRUE(s.HubDoneSince(3001)->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, ErasureStoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// Several instances share one PostgreSQL (issue 17): a request made through one is seen by the
// others, and of two instances taking the same receipt or finishing the same hub part, one does.
// (On SQLite each hub has its own privacy.db: nothing is shared there.)
TEST(SharedErasureStore, TwoOpenersShareRequestsAndEachChangeLandsOnce) {
  if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
  const std::string url =
      SharedPostgres()->CreateDatabase("erasures_shared_" + std::to_string(::getpid()));
  auto one = ErasureStore::Open(url);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  auto other = ErasureStore::Open(url);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ErasureStore& a = **one;
  ErasureStore& b = **other;
  ASSERT_TRUE(a.Add(NewRequest("era_00000000000000000004"), "SUBJ").ok());
  EXPECT_EQ(b.Add(NewRequest("era_00000000000000000004"), "").status().code(), Code::kConflict);
  ASSERT_EQ(b.HubPending()->size(), 1u);
  const std::string key(16, 'k');
  ASSERT_TRUE(
      b.CompleteHub("era_00000000000000000004", 4000, 7, 1, {"till-1"}, "V", {}, {key}).ok());
  EXPECT_EQ(
      a.CompleteHub("era_00000000000000000004", 4001, 7, 1, {"till-2"}, "V", {}, {}).code(),
      Code::kNotFound);
  // The other opener (another hub instance) reads the finished request and the person's keys.
  auto finished = a.HubDoneSince(0);
  ASSERT_TRUE(finished.ok()) << finished.status().ToString();
  ASSERT_EQ(finished->size(), 1u);
  EXPECT_EQ((*finished)[0].hub_done_ms, 4000);
  EXPECT_FALSE((*finished)[0].suppress);
  EXPECT_EQ((*finished)[0].keys, (std::vector<std::string>{key}));
  EXPECT_EQ(*a.DevicesOwing(), (std::vector<std::string>{"till-1"}));
  // The same receipt reaching both instances at once: exactly one takes it.
  std::atomic<int> taken{0};
  auto receipt = [&](ErasureStore* s) {
    Result<bool> done = s->DeviceDone("era_00000000000000000004", "till-1", 4100);
    if (done.ok() && *done) ++taken;
  };
  std::thread t1(receipt, &a);
  std::thread t2(receipt, &b);
  t1.join();
  t2.join();
  EXPECT_EQ(taken.load(), 1);
  EXPECT_EQ(*a.ValuesIfAllDone("era_00000000000000000004"), "V");
  auto r = a.Get("era_00000000000000000004");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_TRUE((*r)->done());
  EXPECT_EQ((*r)->erased_profile, 7);
}

}  // namespace
}  // namespace cjd::hub::privacy
