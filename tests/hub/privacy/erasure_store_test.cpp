// ErasureStore (privacy.db): requests and their devices' receipts, what is kept of the person
// and when it goes, and suppression.
#include "hub/privacy/erasure_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace cjd::hub::privacy {
namespace {

ErasureRequest NewRequest(const std::string& id) {
  ErasureRequest r;
  r.id = id;
  r.subject_type = 3;
  r.subject_key = std::string(16, '\x07');
  r.requested_ms = 1000;
  r.deadline_ms = 1000 + 3'600'000;
  return r;
}

TEST(ErasureStore, ReceiptsCompleteARequestAndOnlyListedDevicesCount) {
  testing::TempDir dir("cjd-erasure-store-");
  auto store = ErasureStore::Open(dir.Join("privacy.db").string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ErasureStore& s = **store;
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
                            "SEALED-VALUES", {})
                  .ok());
  EXPECT_EQ(s.CompleteHub("era_00000000000000000001", 2001, 42, 5, {}, "", {}).code(),
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
  ASSERT_TRUE(s.DropValues("era_00000000000000000001").ok());
  EXPECT_EQ(*s.ValuesIfAllDone("era_00000000000000000001"), "");
  EXPECT_EQ(*s.SealedSubject("era_00000000000000000001"), "");
  r = s.Get("era_00000000000000000001");
  EXPECT_TRUE((*r)->done());
  EXPECT_EQ((*r)->done_ms(), 2500);
  EXPECT_EQ((*r)->erased_profile, 42);
  EXPECT_EQ((*r)->events_redacted, 5);
  EXPECT_TRUE(s.DevicesOwing()->empty());

  // The sealed values are gone from the file too (secure_delete, WAL emptied).
  for (const char* file : {"privacy.db", "privacy.db-wal"}) {
    std::ifstream in(dir.Join(file), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    EXPECT_EQ(bytes.str().find("SEALED-VALUES"), std::string::npos) << file;
    EXPECT_EQ(bytes.str().find("SEALED-SUBJECT"), std::string::npos) << file;
    EXPECT_EQ(bytes.str().find("SEALED-PROGRESS"), std::string::npos) << file;
  }
}

TEST(ErasureStore, NoDeviceToAskMeansDoneAtOnceAndSuppressionIsKept) {
  testing::TempDir dir("cjd-erasure-store-");
  auto store = ErasureStore::Open(dir.Join("privacy.db").string());
  ASSERT_TRUE(store.ok());
  ErasureStore& s = **store;
  ASSERT_TRUE(s.Add(NewRequest("era_00000000000000000002"), "SUBJ").ok());
  ASSERT_TRUE(s.Add(NewRequest("era_00000000000000000003"), "SUBJ").ok());
  const std::string k1(16, 'a'), k2(16, 'b');
  ASSERT_TRUE(s.CompleteHub("era_00000000000000000002", 3000, 0, 0, {}, "VALUES", {k1, k2}).ok());
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
}

}  // namespace
}  // namespace cjd::hub::privacy
