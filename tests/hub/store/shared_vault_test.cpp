// The event vault's data keys in PostgreSQL (issue 17): several hub instances on one database
// share them, so each opens what another sealed; an erasure on one reaches the others' caches;
// a different master or identity key is refused by name; a rotation re-wraps the shared keys.
// On a real PostgreSQL server (tests/support/postgres.h); skipped with a reason without one.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "hub/store/event_vault.h"
#include "shared/protocol/keys.h"
#include "tests/support/postgres.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub {
namespace {

using cjd::testing::Postgres;
using cjd::testing::TempDir;

constexpr char kIdentify[] =
    R"({"attributes":{"first_name":"Annabel"},"customer":{"email":"ann.shared@shop.test",)"
    R"("loyalty_id":"LS-77"},"event_id":"e1","type":"identify"})";
constexpr char kSale[] =
    R"({"customer":{"loyalty_id":"LS-77"},"event_id":"e2","order":{"total":"12.50"},)"
    R"("store_id":"s1","type":"sale"})";

nlohmann::json J(std::string_view text) { return nlohmann::json::parse(text); }

Postgres* SharedPostgres() {
  static Postgres pg = Postgres::Start();
  return &pg;
}

class SharedVaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
    static std::atomic<int> n{0};
    url_ = SharedPostgres()->CreateDatabase("vault_" + std::to_string(::getpid()) + "_" +
                                            std::to_string(++n));
    a_ = Options(dir_a_);
    b_ = Options(dir_b_);
    auto first = EventVault::Open(a_);  // the first instance creates the master key
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    va_ = *first;
    std::filesystem::copy_file(a_.master_key_file, b_.master_key_file);  // as the operator does
    auto second = EventVault::Open(b_);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    vb_ = *second;
  }
  EventVault::Options Options(const TempDir& dir) {
    EventVault::Options o;
    o.keys_path = dir.Join("keys.db").string();  // not used: the keys live in the database
    o.database_url = url_;
    o.master_key_file = dir.Join("master.key").string();
    o.pepper.fill(7);
    o.recheck_interval = std::chrono::milliseconds(0);
    return o;
  }
  static VaultedEvent SealOne(EventVault& v, std::string_view body, const EventRef& ref) {
    std::vector<VaultedEvent> out;
    const Status s = v.Seal({body}, {ref}, &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out.at(0);
  }
  std::string Sql(const std::string& sql) {
    std::string out = SharedPostgres()->Psql(sql, url_.substr(url_.rfind('/') + 1));
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }

  TempDir dir_a_, dir_b_;
  std::string url_;
  EventVault::Options a_, b_;
  std::shared_ptr<EventVault> va_, vb_;
};

TEST_F(SharedVaultTest, EachInstanceOpensWhatAnotherSealedAndNoFileIsWritten) {
  const EventRef r1{"pos-1", "e1"}, r2{"pos-2", "e2"};
  VaultedEvent a = SealOne(*va_, kIdentify, r1);
  VaultedEvent b = SealOne(*vb_, kSale, r2);  // the loyalty id's key is A's
  auto on_b = vb_->Open(r1, a.body, a.pii, a.pii_keys);
  ASSERT_TRUE(on_b.ok()) << on_b.status().ToString();
  EXPECT_EQ(J(*on_b), J(kIdentify));
  auto on_a = va_->Open(r2, b.body, b.pii, b.pii_keys);
  ASSERT_TRUE(on_a.ok()) << on_a.status().ToString();
  EXPECT_EQ(J(*on_a), J(kSale));
  EXPECT_EQ(*va_->KeyCount(), 2);  // email, loyalty id: one key each, wherever sealed
  EXPECT_EQ(Sql("SELECT count(*) FROM vault_keys"), "2");
  EXPECT_FALSE(std::filesystem::exists(a_.keys_path));
  EXPECT_FALSE(std::filesystem::exists(b_.keys_path));
  EXPECT_EQ(va_->Unopened() + vb_->Unopened(), 0);
}

TEST_F(SharedVaultTest, TwoInstancesSealingTheSameNewIdentifiersAtOnceShareOneKeyEach) {
  // 200 customers, each sealed by both instances at the same time (two threads).
  std::vector<std::string> bodies;
  for (int i = 0; i < 200; ++i) {
    bodies.push_back(R"({"customer":{"email":"c)" + std::to_string(i) +
                     R"(@shop.test"},"event_id":"x)" + std::to_string(i) + R"(","type":"identify"})");
  }
  std::vector<VaultedEvent> from_a(bodies.size()), from_b(bodies.size());
  std::atomic<int> failures{0};
  auto run = [&](EventVault& v, std::vector<VaultedEvent>& out) {
    for (size_t i = 0; i < bodies.size(); ++i) {
      std::vector<VaultedEvent> one;
      if (!v.Seal({bodies[i]}, {EventRef{"web", "x" + std::to_string(i)}}, &one).ok()) ++failures;
      else out[i] = one.at(0);
    }
  };
  std::thread ta([&] { run(*va_, from_a); });
  std::thread tb([&] { run(*vb_, from_b); });
  ta.join();
  tb.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM vault_keys"), "200");
  for (size_t i = 0; i < bodies.size(); ++i) {
    EXPECT_EQ(from_a[i].pii_keys, from_b[i].pii_keys) << i;
    const std::string id = "x" + std::to_string(i);
    auto x = vb_->Open(EventRef{"web", id}, from_a[i].body, from_a[i].pii, from_a[i].pii_keys);
    ASSERT_TRUE(x.ok());
    EXPECT_EQ(J(*x), J(bodies[i]));
  }
  EXPECT_EQ(va_->Unopened() + vb_->Unopened(), 0);
}

TEST_F(SharedVaultTest, AnErasureOnOneInstanceReachesTheOthersCachedKeys) {
  const EventRef r1{"pos-1", "e1"};
  VaultedEvent a = SealOne(*va_, kIdentify, r1);
  ASSERT_TRUE(vb_->Open(r1, a.body, a.pii, a.pii_keys).ok());  // B has the keys cached now
  auto n = va_->Destroy(
      {identity::IdentifierKey(identity::IdType::kEmail, "ann.shared@shop.test", a_.pepper)});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  auto gone = vb_->Open(r1, a.body, a.pii, a.pii_keys);
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_EQ(gone->find("Annabel"), std::string::npos);
  EXPECT_NE(gone->find(R"("redacted":true)"), std::string::npos);
  // B seals the same person's next event under a new key, not the destroyed one.
  VaultedEvent again = SealOne(*vb_, kIdentify, EventRef{"pos-1", "e9"});
  EXPECT_NE(again.pii_keys, a.pii_keys);
  EXPECT_TRUE(va_->Open(EventRef{"pos-1", "e9"}, again.body, again.pii, again.pii_keys).ok());
  EXPECT_EQ(vb_->Unopened(), 0);
}

TEST_F(SharedVaultTest, AnotherMasterOrIdentityKeyIsRefusedByName) {
  SealOne(*va_, kIdentify, EventRef{"pos-1", "e1"});
  TempDir dir_c;
  EventVault::Options c = Options(dir_c);
  auto missing = EventVault::Open(c);  // no master file: one is made, but it is not the shared one
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().field(), "privacy.master_key_file");
  EXPECT_NE(missing.status().message().find("first hub instance"), std::string::npos)
      << missing.status().ToString();
  std::filesystem::remove(c.master_key_file);
  std::filesystem::copy_file(a_.master_key_file, c.master_key_file);
  c.pepper.fill(8);
  auto pepper = EventVault::Open(c);
  ASSERT_FALSE(pepper.ok());
  EXPECT_EQ(pepper.status().field(), "identity.key_file");
  c.pepper.fill(7);
  EXPECT_TRUE(EventVault::Open(c).ok());
}

TEST_F(SharedVaultTest, InstancesStartingAtOnceOnANewDatabaseWithOtherIdentityKeysOneWins) {
  // Eight instances, one master key file, each its own identity key, on an empty database at
  // the same moment: the first fingerprint recorded stays, so exactly one of them starts.
  const std::string fresh = SharedPostgres()->CreateDatabase(
      "vault_race_" + std::to_string(::getpid()));
  TempDir dir;
  std::atomic<int> started{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      EventVault::Options o = Options(dir);
      o.database_url = fresh;
      o.master_key_file = a_.master_key_file;  // exists: every instance holds the same master
      o.pepper.fill(static_cast<uint8_t>(20 + i));
      auto v = EventVault::Open(o);
      if (v.ok()) ++started;
      else if (v.status().field() == "identity.key_file") ++refused;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(refused.load(), 7);
}

TEST_F(SharedVaultTest, RotationReWrapsTheSharedKeysAndAStaleMasterStopsRatherThanRedacts) {
  const EventRef r1{"pos-1", "e1"};
  VaultedEvent a = SealOne(*va_, kIdentify, r1);
  auto n = RotateMasterKey(url_, a_.master_key_file);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
  // A picks up the new master from its file; a fresh vault on A's folder opens everything.
  auto fresh = EventVault::Open(a_);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(J(*(*fresh)->Open(r1, a.body, a.pii, a.pii_keys)), J(kIdentify));
  // B still holds the old master file: its next unwrap is an error naming the file (the reader
  // stops and retries), never the event read as redacted.
  auto b_fresh = EventVault::Open(b_);
  ASSERT_FALSE(b_fresh.ok());
  EXPECT_EQ(b_fresh.status().field(), "privacy.master_key_file");
  // The open vault B has no key cached (it sealed and opened nothing): an Open fails.
  auto stale = vb_->Open(r1, a.body, a.pii, a.pii_keys);
  EXPECT_FALSE(stale.ok());
  EXPECT_EQ(vb_->Unopened(), 0);
  // Once the operator copies the new master, B reads again.
  std::filesystem::copy_file(a_.master_key_file, b_.master_key_file,
                             std::filesystem::copy_options::overwrite_existing);
  auto now = vb_->Open(r1, a.body, a.pii, a.pii_keys);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_EQ(J(*now), J(kIdentify));
}

}  // namespace
}  // namespace cjd::hub
