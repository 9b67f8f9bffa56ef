// EventVault: the event log's personal parts sealed under per-identifier data keys that an
// erasure destroys (crypto-shredding), the master key outside the databases and its rotation while
// a vault is open; and the store and reader using it, on real SQLite files.
#include "hub/store/event_vault.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/store/event_log_reader.h"
#include "hub/store/sqlite_hub_store.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "shared/protocol/keys.h"
#include "shared/storage/sqlite.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub {
namespace {

using cjd::testing::TempDir;

constexpr char kIdentify[] =
    R"({"attributes":{"first_name":"Annabel"},"customer":{"email":"Ann.Vault@Example.com",)"
    R"("loyalty_id":"LV-77"},"event_id":"e1","type":"identify"})";
constexpr char kSale[] =
    R"({"customer":{"loyalty_id":"LV-77"},"event_id":"e2","order":{"payment":{"card_fingerprint":)"
    R"("fp-secret-1","method":"card"},"total":"12.50"},"store_id":"s1","type":"sale"})";
constexpr char kOther[] =
    R"({"customer":{"email":"bob.other@example.com"},"event_id":"e3","type":"page_view"})";
constexpr char kAnonymous[] = R"({"event_id":"e4","store_id":"s1","type":"page_view"})";

// Equal as JSON (the joined event has its members in another order).
nlohmann::json J(std::string_view text) { return nlohmann::json::parse(text); }

std::string FileBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every byte of every file in `dir` (databases, WAL, journals, keys).
std::string AllBytes(const std::filesystem::path& dir) {
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.is_regular_file()) all += FileBytes(e.path());
  }
  return all;
}

class EventVaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    options_.keys_path = dir_.Join("keys.db").string();
    options_.master_key_file = dir_.Join("master.key").string();
    options_.pepper.fill(7);
    vault_ = OpenVault();
  }
  std::shared_ptr<EventVault> OpenVault() {
    auto v = EventVault::Open(options_);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : nullptr;
  }
  VaultedEvent SealOne(std::string_view body, const EventRef& ref) {
    std::vector<VaultedEvent> out;
    EXPECT_TRUE(vault_->Seal({body}, {ref}, &out).ok());
    return out.at(0);
  }
  identity::IdKey Hash(identity::IdType type, const std::string& normalized) {
    return identity::IdentifierKey(type, normalized, options_.pepper);
  }

  TempDir dir_;
  EventVault::Options options_;
  std::shared_ptr<EventVault> vault_;
};

TEST_F(EventVaultTest, SealsThePersonalPartAndOpensTheWholeEventAgain) {
  const EventRef ref{"pos-1", "e1"};
  VaultedEvent v = SealOne(kIdentify, ref);
  EXPECT_EQ(v.body.find("Ann.Vault"), std::string::npos);
  EXPECT_EQ(v.body.find("LV-77"), std::string::npos);
  EXPECT_EQ(v.body.find("Annabel"), std::string::npos);
  EXPECT_NE(v.body.find(R"("type":"identify")"), std::string::npos);
  EXPECT_EQ(v.pii.find("Ann"), std::string::npos);
  EXPECT_FALSE(v.pii_keys.empty());
  auto whole = vault_->Open(ref, v.body, v.pii, v.pii_keys);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(J(*whole), J(kIdentify));

  // The card fingerprint inside the order is personal too; the total stays readable.
  VaultedEvent sale = SealOne(kSale, EventRef{"pos-1", "e2"});
  EXPECT_EQ(sale.body.find("fp-secret-1"), std::string::npos);
  EXPECT_NE(sale.body.find("12.50"), std::string::npos);
  auto sale_whole = vault_->Open(EventRef{"pos-1", "e2"}, sale.body, sale.pii, sale.pii_keys);
  ASSERT_TRUE(sale_whole.ok());
  EXPECT_EQ(J(*sale_whole), J(kSale));

  // Nothing personal: stored as it came.
  VaultedEvent anon = SealOne(kAnonymous, EventRef{"pos-1", "e4"});
  EXPECT_EQ(anon.body, kAnonymous);
  EXPECT_TRUE(anon.pii.empty());
  EXPECT_TRUE(anon.pii_keys.empty());
}

TEST_F(EventVaultTest, OneKeyPerIdentifierSharedByTheEventsThatCarryIt) {
  VaultedEvent a = SealOne(kIdentify, EventRef{"pos-1", "e1"});
  VaultedEvent b = SealOne(kSale, EventRef{"pos-1", "e2"});
  // identify: email + loyalty; sale: loyalty + card -> 3 keys, the loyalty id's shared.
  EXPECT_EQ(*vault_->KeyCount(), 3);
  EXPECT_NE(a.pii_keys.find(','), std::string::npos);
  // Same keys after reopening (keys.db, wrapped by master.key).
  vault_ = OpenVault();
  auto again = vault_->Open(EventRef{"pos-1", "e2"}, b.body, b.pii, b.pii_keys);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(J(*again), J(kSale));
}

TEST_F(EventVaultTest, DestroyingAnyOfAnEventsKeysShredsItsPersonalPart) {
  const EventRef r1{"pos-1", "e1"}, r2{"pos-1", "e2"}, r3{"web", "e3"};
  VaultedEvent a = SealOne(kIdentify, r1);
  VaultedEvent b = SealOne(kSale, r2);
  VaultedEvent c = SealOne(kOther, r3);
  // Erase the person by their normalised email only: the identify (email + loyalty) is shredded,
  // the sale (loyalty + card) is not, and another customer is untouched.
  auto n = vault_->Destroy({Hash(identity::IdType::kEmail, "ann.vault@example.com")});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  auto gone = vault_->Open(r1, a.body, a.pii, a.pii_keys);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->find("Ann"), std::string::npos);
  EXPECT_NE(gone->find(R"("redacted":true)"), std::string::npos);
  EXPECT_TRUE(vault_->Open(r2, b.body, b.pii, b.pii_keys).ok());
  auto other = vault_->Open(r3, c.body, c.pii, c.pii_keys);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(J(*other), J(kOther));
  // Then the loyalty id: the sale too. A fresh vault (no cache) agrees; destroying again is a
  // no-op.
  ASSERT_EQ(*vault_->Destroy({Hash(identity::IdType::kLoyaltyId, "LV-77")}), 1);
  vault_ = OpenVault();
  auto sale = vault_->Open(r2, b.body, b.pii, b.pii_keys);
  ASSERT_TRUE(sale.ok());
  EXPECT_EQ(sale->find("fp-secret-1"), std::string::npos);
  EXPECT_NE(sale->find("12.50"), std::string::npos);
  EXPECT_EQ(*vault_->Destroy({Hash(identity::IdType::kLoyaltyId, "LV-77")}), 0);
  // A new event of the same identifier gets a new key.
  VaultedEvent fresh = SealOne(kIdentify, EventRef{"pos-1", "e9"});
  EXPECT_TRUE(vault_->Open(EventRef{"pos-1", "e9"}, fresh.body, fresh.pii, fresh.pii_keys).ok());
  EXPECT_NE(fresh.pii_keys, a.pii_keys);
}

// A sealed part that does not open reads as redacted and is counted: one bad row never stops the
// projection that reads the log.
TEST_F(EventVaultTest, ASealedPartDoesNotOpenWhenTamperedWithOrMovedToAnotherEvent) {
  VaultedEvent a = SealOne(kIdentify, EventRef{"pos-1", "e1"});
  std::string bad = a.pii;
  bad[bad.size() / 2] ^= 1;
  const std::vector<Result<std::string>> reads = {
      vault_->Open(EventRef{"pos-1", "e2"}, a.body, a.pii, a.pii_keys),  // moved
      vault_->Open(EventRef{"pos-1", "e1"}, a.body, bad, a.pii_keys),    // tampered
      vault_->Open(EventRef{"pos-1", "e1"}, a.body, a.pii, "x,1"),       // bad key ids
  };
  for (const auto& r : reads) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->find("Ann"), std::string::npos);
    EXPECT_NE(r->find(R"("redacted":true)"), std::string::npos);
  }
  EXPECT_EQ(vault_->Unopened(), 3);
}

TEST_F(EventVaultTest, ADestroyedKeysIdIsNeverHandedOutAgain) {
  VaultedEvent c = SealOne(kOther, EventRef{"web", "e3"});  // the newest key
  ASSERT_EQ(*vault_->Destroy({Hash(identity::IdType::kEmail, "bob.other@example.com")}), 1);
  VaultedEvent next = SealOne(kIdentify, EventRef{"pos-1", "e1"});
  EXPECT_EQ(next.pii_keys.find(c.pii_keys), std::string::npos) << next.pii_keys;
  auto gone = vault_->Open(EventRef{"web", "e3"}, c.body, c.pii, c.pii_keys);
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_NE(gone->find(R"("redacted":true)"), std::string::npos);
  EXPECT_EQ(vault_->Unopened(), 0);  // shredded, not broken
}

TEST_F(EventVaultTest, TheMasterKeyIsAPrivateFileAndAWrongOneIsRefusedByName) {
  struct stat st{};
  ASSERT_EQ(::stat(options_.master_key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  SealOne(kIdentify, EventRef{"pos-1", "e1"});
  vault_.reset();
  std::filesystem::rename(options_.master_key_file, options_.master_key_file + ".saved");
  std::array<uint8_t, 32> other{};
  other.fill(9);
  { std::ofstream(options_.master_key_file) << KeyToBase64(other) << "\n"; }
  auto wrong = EventVault::Open(options_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().field(), "privacy.master_key_file");
  std::filesystem::remove(options_.master_key_file);
  auto missing = EventVault::Open(options_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing"), std::string::npos);
}

TEST_F(EventVaultTest, RotationReWrapsEveryKeyWhileAVaultIsOpen) {
  const EventRef r1{"pos-1", "e1"}, r3{"web", "e3"};
  VaultedEvent a = SealOne(kIdentify, r1);
  const std::string before = FileBytes(options_.master_key_file);
  auto n = RotateMasterKey(options_.keys_path, options_.master_key_file);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
  EXPECT_NE(FileBytes(options_.master_key_file), before);
  EXPECT_FALSE(std::filesystem::exists(options_.master_key_file + ".next"));
  // The open vault creates its next key under the new master (it notices the change)...
  VaultedEvent c = SealOne(kOther, r3);
  // ...and a vault that opened before the rotation, with nothing cached, still reads old keys.
  {
    auto other = EventVault::Open(options_);
    ASSERT_TRUE(other.ok());
    VaultedEvent x = SealOne(kSale, EventRef{"pos-1", "e2"});
    auto n2 = RotateMasterKey(options_.keys_path, options_.master_key_file);
    ASSERT_TRUE(n2.ok()) << n2.status().ToString();
    auto read = (*other)->Open(EventRef{"pos-1", "e2"}, x.body, x.pii, x.pii_keys);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(J(*read), J(kSale));
    EXPECT_EQ((*other)->Unopened(), 0);
  }
  // ...and after a restart everything opens under the new master alone.
  vault_ = OpenVault();
  ASSERT_NE(vault_, nullptr);
  EXPECT_EQ(J(*vault_->Open(r1, a.body, a.pii, a.pii_keys)), J(kIdentify));
  EXPECT_EQ(J(*vault_->Open(r3, c.body, c.pii, c.pii_keys)), J(kOther));
  // The old master opens nothing any more.
  vault_.reset();
  { std::ofstream(options_.master_key_file, std::ios::trunc) << before; }
  EXPECT_FALSE(EventVault::Open(options_).ok());
}

TEST_F(EventVaultTest, ARotationInterruptedAfterItsCommitIsCompletedAtTheNextStart) {
  VaultedEvent a = SealOne(kIdentify, EventRef{"pos-1", "e1"});
  vault_.reset();
  const std::string old_master = FileBytes(options_.master_key_file);
  ASSERT_TRUE(RotateMasterKey(options_.keys_path, options_.master_key_file).ok());
  // As if the rename never happened: the new key still under MASTER.next, the old in MASTER.
  std::filesystem::rename(options_.master_key_file, options_.master_key_file + ".next");
  { std::ofstream(options_.master_key_file, std::ios::trunc) << old_master; }
  vault_ = OpenVault();
  ASSERT_NE(vault_, nullptr);
  EXPECT_FALSE(std::filesystem::exists(options_.master_key_file + ".next"));
  EXPECT_NE(FileBytes(options_.master_key_file), old_master);
  EXPECT_EQ(J(*vault_->Open(EventRef{"pos-1", "e1"}, a.body, a.pii, a.pii_keys)), J(kIdentify));
}

// The store seals what it writes; the log's reader opens it; an old log is sealed in place.
class SealedStoreTest : public EventVaultTest {
 protected:
  std::string hub_db() const { return dir_.Join("hub.db").string(); }
  static std::vector<CollectEvent> Events() {
    std::vector<CollectEvent> events;
    int i = 0;
    for (const char* body : {kIdentify, kSale, kOther, kAnonymous}) {
      CollectEvent e;
      e.event_id = "e" + std::to_string(++i);
      e.type = EventType::kPageView;
      e.occurred_at_ms = 1'795'428'000'000 + i;
      e.body = body;
      events.push_back(std::move(e));
    }
    return events;
  }
  std::vector<std::string> ReadAll(std::shared_ptr<EventVault> vault) {
    auto reader = OpenSqliteEventLogReader(hub_db(), std::move(vault));
    EXPECT_TRUE(reader.ok());
    std::vector<std::pair<int64_t, std::string>> rows;
    EXPECT_TRUE((*reader)->ReadAfter(0, 100, &rows).ok());
    std::vector<std::string> out;
    for (auto& r : rows) out.push_back(r.second);
    return out;
  }
};

TEST_F(SealedStoreTest, NoPersonalByteReachesHubDbAndTheReaderSeesWholeEvents) {
  auto store = SqliteHubStore::Open(hub_db(), vault_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->CommitCollect("web", Events(), 1000).ok());
  const std::string bytes = AllBytes(dir_.path());
  for (const char* secret : {"Ann.Vault", "ann.vault", "LV-77", "Annabel", "fp-secret-1", "bob.other"}) {
    EXPECT_EQ(bytes.find(secret), std::string::npos) << secret;
  }
  std::vector<std::string> whole = ReadAll(vault_);
  ASSERT_EQ(whole.size(), 4u);
  EXPECT_EQ(J(whole[0]), J(kIdentify));
  EXPECT_EQ(J(whole[1]), J(kSale));
  EXPECT_EQ(whole[3], kAnonymous);
  // Without the vault the person cannot be read: the events come back redacted.
  std::vector<std::string> blind = ReadAll(nullptr);
  EXPECT_NE(blind[0].find(R"("redacted":true)"), std::string::npos);
  EXPECT_EQ(blind[3], kAnonymous);
  // Redaction of a sealed row drops its sealed part.
  ASSERT_EQ(*(*store)->RedactEvents({1}), 1);
  EXPECT_NE(ReadAll(vault_)[0].find(R"("redacted":true)"), std::string::npos);
}

TEST_F(SealedStoreTest, ALogWrittenBeforeSealingIsSealedInPlace) {
  {
    auto plain = SqliteHubStore::Open(hub_db());  // no vault: bodies stored whole
    ASSERT_TRUE(plain.ok());
    ASSERT_TRUE((*plain)->CommitCollect("web", Events(), 1000).ok());
    // As a database migrated from before sealing: its rows up to here are to be sealed.
    auto db = sqlite::Database::Open(hub_db(), {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("UPDATE store_meta SET value = (SELECT max(id) FROM events) "
                            "WHERE key = 'plain_through'").ok());
  }
  auto store = SqliteHubStore::Open(hub_db(), vault_);
  ASSERT_TRUE(store.ok());
  int64_t read = 0;
  for (int round = 0; round < 10; ++round) {
    auto n = (*store)->SealPlaintext(3);  // chunks smaller than the log
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    read += *n;
  }
  EXPECT_EQ(read, 4);
  ASSERT_TRUE((*store)->TruncateWal().ok());
  const std::string bytes = AllBytes(dir_.path());
  for (const char* secret : {"Ann.Vault", "LV-77", "Annabel", "fp-secret-1", "bob.other"}) {
    EXPECT_EQ(bytes.find(secret), std::string::npos) << secret;
  }
  std::vector<std::string> whole = ReadAll(vault_);
  ASSERT_EQ(whole.size(), 4u);
  EXPECT_EQ(J(whole[0]), J(kIdentify));
  EXPECT_EQ(J(whole[2]), J(kOther));
  EXPECT_EQ(*(*store)->SealPlaintext(3), 0);
}

}  // namespace
}  // namespace cjd::hub
