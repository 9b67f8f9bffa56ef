// AccessStore on PostgreSQL (issue 17): hub instances sharing one database share the tokens and
// one audit chain. A token added through one instance (or cjdctl) works on the others, and a
// revocation stops it on all of them at once; appends from two instances at once keep one
// unbroken chain; the log refuses changes inside PostgreSQL and a change made anyway is named by
// Verify; a store opened with another audit key is refused by name. On a real PostgreSQL server
// (tests/support/postgres.h); skipped with a reason without one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "hub/access/access_store.h"
#include "shared/protocol/keys.h"
#include "tests/support/postgres.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub::access {
namespace {

using cjd::testing::Postgres;
using cjd::testing::TempDir;

Postgres* SharedPostgres() {
  static Postgres pg = Postgres::Start();
  return &pg;
}

class SharedAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
    static std::atomic<int> n{0};
    db_name_ = "access_" + std::to_string(::getpid()) + "_" + std::to_string(++n);
    url_ = SharedPostgres()->CreateDatabase(db_name_);
    key_.assign(32, '\x07');
    a_ = Open();
    b_ = Open();
  }
  std::unique_ptr<AccessStore> Open() {
    auto s = AccessStore::Open(url_, key_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::string Sql(const std::string& sql) { return SharedPostgres()->Psql(sql, db_name_); }
  AuditEntry Entry(const std::string& actor, int64_t at_ms) {
    AuditEntry e;
    e.at_ms = at_ms;
    e.actor = actor;
    e.role = "admin";
    e.action = "POST /v1/segments";
    e.target = "/v1/segments";
    e.status = 201;
    e.detail = R"({"id":"vip"})";
    return e;
  }

  std::string db_name_, url_, key_;
  std::unique_ptr<AccessStore> a_, b_;
};

TEST_F(SharedAccessTest, ATokenAddedOnOneInstanceWorksOnTheOtherAndARevocationStopsItOnBoth) {
  ASSERT_TRUE(a_ && b_);
  auto token = a_->AddToken("ana", Role::kAnalyst, 1000);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto found = b_->FindToken(*token);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->name, "ana");
  EXPECT_EQ((*found)->role, Role::kAnalyst);
  // Only the hash is stored.
  EXPECT_EQ(Sql("SELECT count(*) FROM access_tokens WHERE position(convert_to('" + *token +
                "', 'UTF8') in token_hash) > 0"),
            "0");
  // One live token per name across instances.
  auto again = b_->AddToken("ana", Role::kAdmin, 2000);
  EXPECT_EQ(again.status().code(), Code::kConflict) << again.status().ToString();

  ASSERT_TRUE(b_->RevokeToken("ana", 3000).ok());
  auto gone = a_->FindToken(*token);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value()) << "revoked on B, still live on A";
  EXPECT_EQ(a_->RevokeToken("ana", 3001).code(), Code::kNotFound);
  auto reused = a_->AddToken("ana", Role::kPrivacy, 4000);
  ASSERT_TRUE(reused.ok()) << reused.status().ToString();
  auto listed = b_->ListTokens();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_TRUE((*listed)[0].revoked_ms.has_value());
  EXPECT_FALSE((*listed)[1].revoked_ms.has_value());
}

TEST_F(SharedAccessTest, TwoInstancesAppendingAtOnceKeepOneUnbrokenChain) {
  ASSERT_TRUE(a_ && b_);
  constexpr int kEach = 200;
  auto write = [this](AccessStore* s, const std::string& who) {
    for (int i = 0; i < kEach; ++i) {
      auto stored = s->Append(Entry(who, i));
      ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    }
  };
  std::thread ta(write, a_.get(), "hub-1");
  std::thread tb(write, b_.get(), "hub-2");
  ta.join();
  tb.join();
  for (AccessStore* s : {a_.get(), b_.get()}) {
    auto v = s->Verify();
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->entries, 2 * kEach);
    EXPECT_FALSE(v->first_bad.has_value()) << v->problem;
  }
  // Pages in order, no gap.
  int64_t after = 0, seen = 0;
  while (true) {
    auto page = b_->ReadAudit(after, 64);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    for (const AuditEntry& e : *page) EXPECT_EQ(e.seq, ++seen);
    after = page->back().seq;
  }
  EXPECT_EQ(seen, 2 * kEach);
}

TEST_F(SharedAccessTest, TheLogRefusesChangesAndAChangeMadeAnywayIsNamed) {
  ASSERT_TRUE(a_);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(a_->Append(Entry("hub-1", i)).ok());
  EXPECT_THROW(Sql("UPDATE access_audit SET detail = '{}' WHERE seq = 2"), std::runtime_error);
  EXPECT_THROW(Sql("DELETE FROM access_audit WHERE seq = 5"), std::runtime_error);
  EXPECT_THROW(Sql("TRUNCATE access_audit"), std::runtime_error);
  EXPECT_EQ(Sql("SELECT count(*) FROM access_audit"), "5");
  // The database's owner can switch the triggers off: the chain still tells.
  Sql("ALTER TABLE access_audit DISABLE TRIGGER USER");
  Sql("UPDATE access_audit SET detail = '{\"id\":\"other\"}' WHERE seq = 3");
  auto v = b_->Verify();
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->first_bad.has_value());
  EXPECT_EQ(*v->first_bad, 3);
  Sql("DELETE FROM access_audit WHERE seq = 2");
  v = b_->Verify();
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->first_bad.has_value());
  EXPECT_EQ(*v->first_bad, 2);
  EXPECT_NE(v->problem.find("missing"), std::string::npos) << v->problem;
}

TEST_F(SharedAccessTest, AnotherAuditKeyIsRefusedByNameAndAMissingKeyFileToo) {
  ASSERT_TRUE(a_);
  auto other = AccessStore::Open(url_, std::string(32, '\x08'));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().field(), "access.audit_key_file");
  EXPECT_NE(other.status().message().find("copy the first hub instance"), std::string::npos)
      << other.status().ToString();

  ASSERT_TRUE(a_->Append(Entry("hub-1", 1)).ok());
  TempDir dir;
  const std::string key_file = dir.Join("audit.key").string();
  auto refused = AccessStore::OpenWithKeyFile(url_, key_file);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().field(), "access.audit_key_file");
  EXPECT_FALSE(std::filesystem::exists(key_file)) << "a new key would fail every entry";

  // A fresh database and a key file made on first use: later instances open with a copy.
  const std::string fresh = SharedPostgres()->CreateDatabase(db_name_ + "_fresh");
  auto first = AccessStore::OpenWithKeyFile(fresh, key_file);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE((*first)->Append(Entry("hub-1", 1)).ok());
  const std::string copy = dir.Join("copy.key").string();
  std::filesystem::copy_file(key_file, copy);
  auto second = AccessStore::OpenWithKeyFile(fresh, copy);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto v = (*second)->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->entries, 1);
  EXPECT_FALSE(v->first_bad.has_value());
}

}  // namespace
}  // namespace cjd::hub::access
