// AccessStore on a real SQLite file: named tokens (hashes only, revocation at once, one live
// token per name), the audit chain (every change, insertion, removal or foreign key found and
// named), concurrent appends from two connections, and the audit key file.
#include "hub/access/access_store.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "shared/protocol/keys.h"
#include "shared/storage/sqlite.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub::access {
namespace {

using cjd::testing::TempDir;

class AccessStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    key_.assign(32, '\x07');
    path_ = dir_.Join("access.db").string();
    auto s = AccessStore::Open(path_, key_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  AuditEntry Entry(const std::string& action, int64_t at_ms) {
    AuditEntry e;
    e.at_ms = at_ms;
    e.actor = "admin";
    e.role = "admin";
    e.action = action;
    e.target = "/v1/segments";
    e.status = 201;
    e.detail = R"({"id":"vip"})";
    return e;
  }

  void AppendN(int n) {
    for (int i = 1; i <= n; ++i) {
      auto e = store_->Append(Entry("POST /v1/segments", 1000 + i));
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      ASSERT_EQ(e->seq, i);
    }
  }

  // Runs `sql` on a connection of its own, as someone holding the file would.
  void Tamper(const std::string& sql) {
    auto db = sqlite::Database::Open(path_, {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("DROP TRIGGER IF EXISTS audit_log_no_update").ok());
    ASSERT_TRUE((*db)->Exec("DROP TRIGGER IF EXISTS audit_log_no_delete").ok());
    const Status st = (*db)->Exec(sql);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  AuditVerdict Verify() {
    auto v = store_->Verify();
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : AuditVerdict{};
  }

  TempDir dir_;
  std::string key_;
  std::string path_;
  std::unique_ptr<AccessStore> store_;
};

TEST_F(AccessStoreTest, TokensAreFoundByTheirTextAndStoredOnlyAsHashes) {
  auto analyst = store_->AddToken("marketing", Role::kAnalyst, 100);
  ASSERT_TRUE(analyst.ok()) << analyst.status().ToString();
  auto privacy = store_->AddToken("dpo", Role::kPrivacy, 200);
  ASSERT_TRUE(privacy.ok());
  EXPECT_EQ(analyst->rfind("cjdt_", 0), 0u);
  EXPECT_EQ(analyst->size(), 5u + 43u);
  EXPECT_NE(*analyst, *privacy);

  auto found = store_->FindToken(*analyst);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->name, "marketing");
  EXPECT_EQ((*found)->role, Role::kAnalyst);
  EXPECT_EQ((*found)->created_ms, 100);
  auto other = store_->FindToken(*privacy);
  ASSERT_TRUE(other.ok() && other->has_value());
  EXPECT_EQ((*other)->role, Role::kPrivacy);

  // Unknown, truncated, or without the prefix: nobody.
  for (const std::string& t : {std::string("cjdt_nope"), analyst->substr(0, 40),
                               analyst->substr(5), std::string()}) {
    auto none = store_->FindToken(t);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value()) << t;
  }

  // The file holds no token text.
  store_.reset();
  std::ifstream in(path_, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  EXPECT_EQ(bytes.str().find(analyst->substr(5)), std::string::npos);
  EXPECT_EQ(bytes.str().find(privacy->substr(5)), std::string::npos);
}

TEST_F(AccessStoreTest, ARevokedTokenStopsAtOnceAndItsNameCanBeReused) {
  auto first = store_->AddToken("kiosk-report", Role::kAnalyst, 1);
  ASSERT_TRUE(first.ok());
  // One live token per name.
  auto again = store_->AddToken("kiosk-report", Role::kAdmin, 2);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kConflict);

  ASSERT_TRUE(store_->RevokeToken("kiosk-report", 3).ok());
  auto gone = store_->FindToken(*first);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(store_->RevokeToken("kiosk-report", 4).code(), Code::kNotFound);
  EXPECT_EQ(store_->RevokeToken("never-was", 4).code(), Code::kNotFound);

  auto second = store_->AddToken("kiosk-report", Role::kAdmin, 5);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto found = store_->FindToken(*second);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->role, Role::kAdmin);
  auto still_gone = store_->FindToken(*first);
  ASSERT_TRUE(still_gone.ok());
  EXPECT_FALSE(still_gone->has_value());

  auto list = store_->ListTokens();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].revoked_ms, std::optional<int64_t>(3));
  EXPECT_FALSE((*list)[1].revoked_ms.has_value());
}

TEST_F(AccessStoreTest, BadNamesAndTheAdminNameAreRefused) {
  for (const std::string& name : {std::string(), std::string(41, 'a'), std::string("a b"),
                                  std::string("ünï"), std::string("x/y")}) {
    auto t = store_->AddToken(name, Role::kAnalyst, 1);
    ASSERT_FALSE(t.ok()) << name;
    EXPECT_EQ(t.status().code(), Code::kInvalid) << name;
    EXPECT_EQ(t.status().field(), "name");
  }
  auto admin = store_->AddToken("admin", Role::kAnalyst, 1);
  ASSERT_FALSE(admin.ok());
  EXPECT_EQ(admin.status().code(), Code::kConflict);
}

TEST_F(AccessStoreTest, AnIntactChainVerifiesAndPagesReadInOrder) {
  EXPECT_EQ(Verify().entries, 0);
  AppendN(25);
  const AuditVerdict v = Verify();
  EXPECT_EQ(v.entries, 25);
  EXPECT_FALSE(v.first_bad.has_value()) << v.problem;

  auto page = store_->ReadAudit(10, 5);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 5u);
  EXPECT_EQ(page->front().seq, 11);
  EXPECT_EQ(page->back().seq, 15);
  EXPECT_EQ(page->front().detail, R"({"id":"vip"})");
  EXPECT_EQ(page->front().mac.size(), 32u);
}

TEST_F(AccessStoreTest, TheLogRefusesUpdatesAndDeletesThroughSqlite) {
  AppendN(3);
  auto db = sqlite::Database::Open(path_, {});
  ASSERT_TRUE(db.ok());
  EXPECT_FALSE((*db)->Exec("UPDATE audit_log SET actor = 'x' WHERE seq = 2").ok());
  EXPECT_FALSE((*db)->Exec("DELETE FROM audit_log WHERE seq = 3").ok());
  EXPECT_EQ(Verify().entries, 3);
  EXPECT_FALSE(Verify().first_bad.has_value());
}

TEST_F(AccessStoreTest, EveryKindOfTamperingIsFoundAndTheFirstBrokenEntryNamed) {
  struct Case {
    const char* what;
    std::string sql;
    int64_t first_bad;
  };
  const std::vector<Case> cases = {
      {"a field changed", "UPDATE audit_log SET target = '/v1/offers' WHERE seq = 7", 7},
      {"the status changed", "UPDATE audit_log SET status = 403 WHERE seq = 4", 4},
      {"a time moved", "UPDATE audit_log SET at_ms = at_ms + 1 WHERE seq = 9", 9},
      {"the actor changed", "UPDATE audit_log SET actor = 'someone' WHERE seq = 1", 1},
      {"an entry removed", "DELETE FROM audit_log WHERE seq = 5", 5},
      {"an entry inserted", "INSERT INTO audit_log SELECT 11, at_ms, actor, role, action, "
                            "target, status, detail, mac FROM audit_log WHERE seq = 10", 11},
      {"an entry's mac replaced by another's",
       "UPDATE audit_log SET mac = (SELECT mac FROM audit_log WHERE seq = 2) WHERE seq = 3", 3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    store_.reset();
    std::filesystem::remove(path_);
    std::filesystem::remove(path_ + "-wal");
    std::filesystem::remove(path_ + "-shm");
    auto s = AccessStore::Open(path_, key_);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    AppendN(10);
    Tamper(c.sql);
    const AuditVerdict v = Verify();
    ASSERT_TRUE(v.first_bad.has_value());
    EXPECT_EQ(*v.first_bad, c.first_bad) << v.problem;
    EXPECT_NE(v.problem.find("entry " + std::to_string(c.first_bad)), std::string::npos)
        << v.problem;
  }
}

TEST_F(AccessStoreTest, AChainWrittenWithAnotherKeyDoesNotVerify) {
  AppendN(3);
  store_.reset();
  auto other = AccessStore::Open(path_, std::string(32, '\x08'));
  ASSERT_TRUE(other.ok());
  auto v = (*other)->Verify();
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->first_bad.has_value());
  EXPECT_EQ(*v->first_bad, 1);
}

TEST_F(AccessStoreTest, TwoWritersAtOnceKeepOneUnbrokenChain) {
  auto second = AccessStore::Open(path_, key_);
  ASSERT_TRUE(second.ok());
  constexpr int kEach = 200;
  auto write = [this](AccessStore* s, const std::string& who) {
    for (int i = 0; i < kEach; ++i) {
      AuditEntry e = Entry("POST /v1/offers", i);
      e.actor = who;
      auto stored = s->Append(std::move(e));
      ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    }
  };
  std::thread a(write, store_.get(), "hub");
  std::thread b(write, second->get(), "cjdctl");
  a.join();
  b.join();
  const AuditVerdict v = Verify();
  EXPECT_EQ(v.entries, 2 * kEach);
  EXPECT_FALSE(v.first_bad.has_value()) << v.problem;
}

TEST_F(AccessStoreTest, TheAuditKeyFileIsMadeOnceMode0600AndAMissingOneIsRefusedLater) {
  const std::string key_file = dir_.Join("audit.key").string();
  auto k1 = LoadOrCreateAuditKey(key_file);
  ASSERT_TRUE(k1.ok()) << k1.status().ToString();
  EXPECT_EQ(k1->size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto k2 = LoadOrCreateAuditKey(key_file);
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(*k1, *k2);

  const std::string db = dir_.Join("with-key.db").string();
  {
    auto s = AccessStore::OpenWithKeyFile(db, key_file);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->Append(Entry("add-token", 1)).ok());
  }
  std::filesystem::remove(key_file);
  auto refused = AccessStore::OpenWithKeyFile(db, key_file);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().field(), "access.audit_key_file");
  EXPECT_FALSE(std::filesystem::exists(key_file));

  std::ofstream(key_file) << "not a key\n";
  auto garbage = LoadOrCreateAuditKey(key_file);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().field(), "access.audit_key_file");
}

}  // namespace
}  // namespace cjd::hub::access
