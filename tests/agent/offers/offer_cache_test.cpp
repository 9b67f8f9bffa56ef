// OfferCache: item-wise last-writer-wins, deletes, expiry by clock, general fallback, restart,
// rejected updates, and (printed, never asserted) lookup latency and size for 100k customers.
#include "agent/offers/offer_cache.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "shared/core/clock.h"
#include "shared/event/event.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/keys.h"
#include "shared/storage/sqlite.h"
#include "tests/support/temp_dir.h"

namespace cjd::agent {
namespace {

constexpr int64_t kNov1 = 1'793'491'200'000;   // 2026-11-01T00:00:00Z
constexpr int64_t kDec1 = 1'796'083'200'000;   // 2026-12-01T00:00:00Z

OfferRecord Offer(const std::string& id, uint64_t version, const std::string& title = "",
                  const std::string& from = "2026-11-01T00:00:00Z",
                  const std::string& until = "2026-12-01T00:00:00Z") {
  OfferRecord o;
  o.id = id;
  o.title = title.empty() ? "Offer " + id + " v" + std::to_string(version) : title;
  o.text = "text of " + id;
  o.valid_from = from;
  o.valid_until = until;
  o.valid_from_ms = *ParseRfc3339(from);
  o.valid_until_ms = *ParseRfc3339(until);
  o.priority = 1;
  o.version = version;
  return o;
}

std::vector<std::string> Ids(const std::vector<OfferView>& v) {
  std::vector<std::string> out;
  for (const auto& o : v) out.push_back(o.id);
  return out;
}

const std::array<uint8_t, 32> kLookupKey = OfferCache::LookupKey(std::array<uint8_t, 32>{7, 7, 7});

class OfferCacheTest : public ::testing::Test {
 protected:
  std::string Path() { return dir_.Join("offers.db"); }
  std::unique_ptr<OfferCache> Open() {
    auto c = OfferCache::Open(Path(), kLookupKey);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  cjd::testing::TempDir dir_;
  FakeClock clock_{kNov1 + 3'600'000};
};

// A decoded update, as the uplink hands it over (through the wire format, so *_ms are real).
OfferUpdate Wire(const OfferUpdate& u) {
  auto d = DecodeOfferUpdate(EncodeOfferUpdate(u));
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return *d;
}

using Names = std::vector<std::string>;

OfferUpdate Update(uint64_t v, std::vector<OfferRecord> offers,
                   std::vector<OfferAssignment> assignments = {},
                   std::optional<GeneralOffers> general = std::nullopt) {
  OfferUpdate u;
  u.version = v;
  u.offers = std::move(offers);
  u.assignments = std::move(assignments);
  u.general = std::move(general);
  return Wire(u);
}

TEST_F(OfferCacheTest, ServesTheCustomersAssignmentElseTheGeneralList) {
  auto cache = Open();
  auto r = cache->Apply(Update(1, {Offer("a", 1), Offer("b", 1), Offer("c", 1)},
                               {{"L1", {"b", "a"}, 1}}, GeneralOffers{{"c"}, 1}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->offers_applied, 3);
  EXPECT_EQ(r->assignments_applied, 1);
  EXPECT_TRUE(r->general_applied);
  EXPECT_EQ(cache->applied_version(), 1u);
  const int64_t now = clock_.NowMillis();
  EXPECT_EQ(Ids(cache->Lookup("L1", now)), (std::vector<std::string>{"b", "a"}));  // as ranked
  EXPECT_EQ(Ids(cache->Lookup("L2", now)), (std::vector<std::string>{"c"}));
  EXPECT_EQ(Ids(cache->Lookup("", now)), (std::vector<std::string>{"c"}));
  auto view = cache->Lookup("L1", now);
  EXPECT_EQ(view[0].title, "Offer b v1");
  EXPECT_EQ(view[0].text, "text of b");
  EXPECT_EQ(view[0].valid_until, "2026-12-01T00:00:00Z");
}

TEST_F(OfferCacheTest, OutOfOrderUpdatesLeaveTheNewerItems) {
  auto cache = Open();
  const auto newer = Update(5, {Offer("a", 5, "new title")}, {{"L1", {"a"}, 5}},
                            GeneralOffers{{"a"}, 5});
  const auto older = Update(4, {Offer("a", 4, "old title"), Offer("b", 4)},
                            {{"L1", {"b"}, 4}, {"L2", {"b"}, 4}}, GeneralOffers{{"b"}, 4});
  ASSERT_TRUE(cache->Apply(newer).ok());
  auto r = cache->Apply(older);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->offers_applied, 1);  // b is new
  EXPECT_EQ(r->offers_stale, 1);
  EXPECT_EQ(r->assignments_applied, 1);  // L2
  EXPECT_EQ(r->assignments_stale, 1);
  EXPECT_FALSE(r->general_applied);
  EXPECT_EQ(r->applied_version, 5u);  // the max applied
  const int64_t now = clock_.NowMillis();
  auto l1 = cache->Lookup("L1", now);
  ASSERT_EQ(Ids(l1), (std::vector<std::string>{"a"}));
  EXPECT_EQ(l1[0].title, "new title");
  EXPECT_EQ(Ids(cache->Lookup("L2", now)), (std::vector<std::string>{"b"}));
  EXPECT_EQ(Ids(cache->Lookup("nobody", now)), (std::vector<std::string>{"a"}));
  // The same update twice changes nothing.
  auto again = cache->Apply(newer);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->offers_applied + again->assignments_applied, 0);
}

// Incremental updates (base, version]: the watermark moves only over contiguous ranges, so a
// lost update shows in the heartbeat and the hub resends from there.
TEST_F(OfferCacheTest, WatermarkWaitsForAMissingRangeAndCatchesUpThroughEarlyUpdates) {
  auto cache = Open();
  auto incremental = [&](uint64_t base, uint64_t v, std::vector<OfferRecord> offers) {
    OfferUpdate u;
    u.base = base;
    u.version = v;
    u.offers = std::move(offers);
    return Wire(u);
  };
  ASSERT_TRUE(cache->Apply(incremental(0, 3, {Offer("a", 3)})).ok());
  EXPECT_EQ(cache->applied_version(), 3u);
  // (5, 8] arrives before (3, 5]: applied, but the watermark waits.
  auto early = cache->Apply(incremental(5, 8, {Offer("c", 8)}));
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->offers_applied, 1);
  EXPECT_EQ(cache->applied_version(), 3u);
  const int64_t now = clock_.NowMillis();
  EXPECT_TRUE(cache->Lookup("", now).empty());  // no general list yet, but "c" is held
  // (8, 9] also early.
  ASSERT_TRUE(cache->Apply(incremental(8, 9, {Offer("d", 9)})).ok());
  EXPECT_EQ(cache->applied_version(), 3u);
  // The gap closes: the watermark runs through every early update.
  auto late = cache->Apply(incremental(3, 5, {Offer("b", 5)}));
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->applied_version, 9u);
  EXPECT_EQ(cache->Stats().offers, 4);
  // A resend of something already held leaves it where it is.
  ASSERT_TRUE(cache->Apply(incremental(3, 8, {Offer("b", 5), Offer("c", 8)})).ok());
  EXPECT_EQ(cache->applied_version(), 9u);
}

TEST_F(OfferCacheTest, DeletedAndUnknownOffersAreNotServed) {
  auto cache = Open();
  ASSERT_TRUE(cache->Apply(Update(1, {Offer("a", 1), Offer("b", 1)},
                                  {{"L1", {"a", "ghost", "b"}, 1}})).ok());
  const int64_t now = clock_.NowMillis();
  EXPECT_EQ(Ids(cache->Lookup("L1", now)), (std::vector<std::string>{"a", "b"}));
  OfferRecord del;
  del.id = "a";
  del.version = 2;
  del.deleted = true;
  ASSERT_TRUE(cache->Apply(Update(2, {del})).ok());
  EXPECT_EQ(Ids(cache->Lookup("L1", now)), (std::vector<std::string>{"b"}));
  // A late copy of the offer from before the delete does not bring it back.
  ASSERT_TRUE(cache->Apply(Update(1, {Offer("a", 1)})).ok());
  EXPECT_EQ(Ids(cache->Lookup("L1", now)), (std::vector<std::string>{"b"}));
  EXPECT_EQ(cache->Stats().offers, 1);
  // The offer arrives after the assignment that names it: served from then on.
  ASSERT_TRUE(cache->Apply(Update(3, {Offer("ghost", 1)})).ok());
  EXPECT_EQ(Ids(cache->Lookup("L1", now)), (std::vector<std::string>{"ghost", "b"}));
}

TEST_F(OfferCacheTest, ExpiredAndFutureOffersDisappearByTheClockAlone) {
  auto cache = Open();
  ASSERT_TRUE(cache->Apply(Update(1,
      {Offer("now", 1), Offer("later", 1, "", "2026-11-10T00:00:00Z", "2026-12-01T00:00:00Z"),
       Offer("short", 1, "", "2026-11-01T00:00:00Z", "2026-11-01T02:00:00Z")},
      {}, GeneralOffers{{"short", "later", "now"}, 1})).ok());
  EXPECT_EQ(Ids(cache->Lookup("", clock_.NowMillis())),
            (std::vector<std::string>{"short", "now"}));
  clock_.Set(kNov1 + 2 * 3'600'000 - 1);
  EXPECT_EQ(Ids(cache->Lookup("", clock_.NowMillis())),
            (std::vector<std::string>{"short", "now"}));
  clock_.Set(kNov1 + 2 * 3'600'000);  // valid_until is exclusive
  EXPECT_EQ(Ids(cache->Lookup("", clock_.NowMillis())), (std::vector<std::string>{"now"}));
  clock_.Set(kNov1 + 9 * 86'400'000);
  EXPECT_EQ(Ids(cache->Lookup("", clock_.NowMillis())), (std::vector<std::string>{"later", "now"}));
  clock_.Set(kDec1);
  EXPECT_TRUE(cache->Lookup("", clock_.NowMillis()).empty());
}

// A customer's list is complete (the hub ranks the offers for everyone into it): when their own
// offer ends, offline, they still see the rest of it; an empty list means nothing for them (e.g.
// they redeemed the one general offer up to its limit); a removed list means the general one.
TEST_F(OfferCacheTest, ACustomersListIsServedAsItIsAndARemovedOneMeansTheGeneralList) {
  auto cache = Open();
  ASSERT_TRUE(cache->Apply(Update(1,
      {Offer("mine", 1, "", "2026-11-01T00:00:00Z", "2026-11-01T02:00:00Z"), Offer("all", 1),
       Offer("once", 1)},
      {{"L1", {"mine", "all"}, 1}, {"L2", {"all"}, 1}}, GeneralOffers{{"once", "all"}, 1})).ok());
  EXPECT_EQ(Ids(cache->Lookup("L1", clock_.NowMillis())), (Names{"mine", "all"}));
  clock_.Set(kNov1 + 2 * 3'600'000);  // "mine" has ended, while the store is offline
  EXPECT_EQ(Ids(cache->Lookup("L1", clock_.NowMillis())), (Names{"all"}));
  EXPECT_EQ(Ids(cache->Lookup("L2", clock_.NowMillis())), (Names{"all"}));  // not "once" again
  OfferAssignment nothing{"L2", {}, 2};
  OfferAssignment removed{"L1", {}, 2};
  removed.deleted = true;
  auto r = cache->Apply(Update(2, {}, {nothing, removed}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->assignments_applied, 2);
  EXPECT_TRUE(cache->Lookup("L2", clock_.NowMillis()).empty());
  EXPECT_EQ(Ids(cache->Lookup("L1", clock_.NowMillis())), (Names{"once", "all"}));
  EXPECT_EQ(cache->Stats().assignments, 1);
  // Both survive a restart; an older list for L1 does not bring it back.
  cache.reset();
  cache = Open();
  EXPECT_TRUE(cache->Lookup("L2", clock_.NowMillis()).empty());
  EXPECT_EQ(Ids(cache->Lookup("L1", clock_.NowMillis())), (Names{"once", "all"}));
  ASSERT_TRUE(cache->Apply(Update(3, {}, {{"L1", {"all"}, 1}})).ok());
  EXPECT_EQ(Ids(cache->Lookup("L1", clock_.NowMillis())), (Names{"once", "all"}));
  EXPECT_EQ(cache->Stats().assignments, 1);
}

TEST_F(OfferCacheTest, ConsentBoundOffersOnlyFromTheCustomersOwnAssignment) {
  auto cache = Open();
  OfferRecord bound = Offer("bound", 1);
  bound.requires_consent = true;
  ASSERT_TRUE(cache->Apply(Update(1, {bound, Offer("open", 1)}, {{"L1", {"bound"}, 1}},
                                  GeneralOffers{{"bound", "open"}, 1})).ok());
  const int64_t now = clock_.NowMillis();
  EXPECT_EQ(Ids(cache->Lookup("L1", now)), (std::vector<std::string>{"bound"}));
  EXPECT_EQ(Ids(cache->Lookup("L2", now)), (std::vector<std::string>{"open"}));
  // A removed assignment: the general list, without the consent-bound offer.
  OfferAssignment removed{"L1", {}, 2};
  removed.deleted = true;
  ASSERT_TRUE(cache->Apply(Update(2, {}, {removed})).ok());
  EXPECT_EQ(Ids(cache->Lookup("L1", now)), (std::vector<std::string>{"open"}));
}

TEST_F(OfferCacheTest, RestartKeepsTheCache) {
  {
    auto cache = Open();
    OfferRecord del;
    del.id = "b";
    del.version = 3;
    del.deleted = true;
    ASSERT_TRUE(cache->Apply(Update(7, {Offer("a", 2), Offer("c", 1), del},
                                    {{"L1", {"c", "a", "b"}, 4}}, GeneralOffers{{"a"}, 2})).ok());
  }
  auto cache = Open();
  EXPECT_EQ(cache->applied_version(), 7u);
  const int64_t now = clock_.NowMillis();
  EXPECT_EQ(Ids(cache->Lookup("L1", now)), (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(Ids(cache->Lookup("L9", now)), (std::vector<std::string>{"a"}));
  auto s = cache->Stats();
  EXPECT_EQ(s.offers, 2);
  EXPECT_EQ(s.assignments, 1);
  // Versions survive too: older items stay stale, the tombstone holds.
  auto r = cache->Apply(Update(3, {Offer("a", 1), Offer("b", 2)}, {{"L1", {"a"}, 3}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->offers_applied + r->assignments_applied, 0);
  EXPECT_EQ(cache->applied_version(), 7u);
}

// Every byte of offers.db and its WAL, as a stolen disk would give them.
std::string FileBytes(const std::string& path) {
  std::string all;
  for (const std::string& p : {path, path + "-wal", path + "-journal"}) {
    std::ifstream in(p, std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

TEST_F(OfferCacheTest, TheFilesHoldNoLoyaltyIdOnlyKeyedHashes) {
  const std::vector<std::string> ids = {"LOY-SECRET-0001", "LOY-SECRET-0002", "4929123456781"};
  {
    auto cache = Open();
    std::vector<OfferAssignment> assignments;
    for (size_t i = 0; i < ids.size(); ++i) assignments.push_back({ids[i], {"a"}, i + 1});
    ASSERT_TRUE(cache->Apply(Update(1, {Offer("a", 1), Offer("g", 1)}, assignments,
                                    GeneralOffers{{"g"}, 1}))
                    .ok());
    // Replaced and removed rows leave nothing behind either (secure_delete).
    ASSERT_TRUE(cache->Apply(Update(2, {}, {{ids[0], {"g"}, 9}, {ids[1], {}, 9, true}})).ok());
    EXPECT_EQ(Ids(cache->Lookup(ids[0], clock_.NowMillis())), Names{"g"});
    const std::string bytes = FileBytes(Path());
    for (const std::string& id : ids) EXPECT_EQ(bytes.find(id), std::string::npos) << id;
  }
  auto cache = Open();  // and after a restart, from the keyed rows alone
  EXPECT_EQ(Ids(cache->Lookup(ids[2], clock_.NowMillis())), Names{"a"});
  EXPECT_EQ(Ids(cache->Lookup(ids[0], clock_.NowMillis())), Names{"g"});
  EXPECT_EQ(Ids(cache->Lookup("LOY-OTHER", clock_.NowMillis())), Names{"g"});
  // Another device's key finds none of this device's customers.
  cache.reset();
  auto other = OfferCache::Open(Path(), OfferCache::LookupKey(std::array<uint8_t, 32>{8}));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Ids((*other)->Lookup(ids[2], clock_.NowMillis())), Names{"g"});
}

TEST_F(OfferCacheTest, ACacheOfPlainLoyaltyIdsIsWipedAndItsWatermarkReset) {
  // offers.db as agents before customer keys wrote it (schema 2), with a plain loyalty id.
  {
    auto db = sqlite::Database::Open(Path(), {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO meta VALUES ('applied_version', 9);
      CREATE TABLE offers (id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL,
        valid_from TEXT NOT NULL, valid_from_ms INTEGER NOT NULL, valid_until TEXT NOT NULL,
        valid_until_ms INTEGER NOT NULL, priority INTEGER NOT NULL,
        requires_consent INTEGER NOT NULL, max_per_customer INTEGER NOT NULL,
        version INTEGER NOT NULL, deleted INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO offers VALUES ('g', 'General', 't', '2026-01-01T00:00:00Z', 1767225600000,
        '2099-01-01T00:00:00Z', 4070908800000, 1, 0, 0, 1, 0);
      CREATE TABLE assignments (loyalty_id TEXT PRIMARY KEY, offers TEXT NOT NULL,
        version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
      INSERT INTO assignments VALUES ('LOY-OLD-PLAIN-777', 'g', 5, 0);
      CREATE TABLE general (one INTEGER PRIMARY KEY CHECK (one = 1), offers TEXT NOT NULL,
        version INTEGER NOT NULL);
      INSERT INTO general VALUES (1, 'g', 1);
      PRAGMA user_version = 2;
    )sql").ok());
  }
  ASSERT_NE(FileBytes(Path()).find("LOY-OLD-PLAIN-777"), std::string::npos);
  auto cache = Open();
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->applied_version(), 0u);  // the hub sends every assignment again
  EXPECT_EQ(cache->Stats().assignments, 0);
  EXPECT_EQ(Ids(cache->Lookup("LOY-OLD-PLAIN-777", clock_.NowMillis())), Names{"g"});
  EXPECT_EQ(FileBytes(Path()).find("LOY-OLD-PLAIN-777"), std::string::npos);
  ASSERT_TRUE(cache->Apply(Update(9, {}, {{"LOY-OLD-PLAIN-777", {"g"}, 5}})).ok());
  EXPECT_EQ(cache->Stats().assignments, 1);
}

TEST_F(OfferCacheTest, CorruptedUpdateIsRejectedAndNothingApplied) {
  ASSERT_TRUE(InitCrypto().ok());
  auto cache = Open();
  ASSERT_TRUE(cache->Apply(Update(1, {Offer("a", 1)}, {}, GeneralOffers{{"a"}, 1})).ok());
  const KeyPair dev = NewKeyPair();
  const KeyPair hub = NewKeyPair();
  auto hk = HubSessionKeys(hub, dev.public_key, 1);
  auto dk = DeviceSessionKeys(dev, hub.public_key, 1);
  OfferUpdate bad;
  bad.version = 2;
  bad.offers = {Offer("b", 1)};
  bad.general = GeneralOffers{{"b"}, 2};
  std::string frame = SealOfferUpdate(bad, "k1", hk->downlink, 1);
  frame[frame.size() - 3] ^= 0x20;  // a flipped bit: the seal fails
  FrameHeader h;
  EXPECT_FALSE(OpenFrame(frame, "k1", dk->downlink, &h).ok());
  // Truncated plaintext inside a good seal: the decoder refuses it.
  std::string text = EncodeOfferUpdate(bad);
  EXPECT_FALSE(DecodeOfferUpdate(text.substr(0, text.size() - 5)).ok());

  // A failure half-way through the transaction (a trigger aborts the assignment insert):
  // nothing of the update is kept, in SQLite or in memory.
  {
    auto raw = sqlite::Database::Open(Path());
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->Exec("CREATE TRIGGER poison BEFORE INSERT ON assignments "
                             "WHEN NEW.offers = 'poison' BEGIN SELECT RAISE(ABORT, 'no'); END")
                    .ok());
  }
  auto r = cache->Apply(Update(3, {Offer("b", 1)}, {{"L1", {"b"}, 1}, {"L2", {"poison"}, 1}},
                               GeneralOffers{{"b"}, 3}));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(cache->applied_version(), 1u);
  const int64_t now = clock_.NowMillis();
  EXPECT_EQ(Ids(cache->Lookup("L1", now)), (std::vector<std::string>{"a"}));
  EXPECT_EQ(cache->Stats().offers, 1);
  cache.reset();
  auto reopened = Open();
  EXPECT_EQ(reopened->applied_version(), 1u);
  EXPECT_EQ(Ids(reopened->Lookup("L1", now)), (std::vector<std::string>{"a"}));
  EXPECT_EQ(reopened->Stats().assignments, 0);
}

TEST_F(OfferCacheTest, ConcurrentLookupsDuringApplies) {
  auto cache = Open();
  ASSERT_TRUE(cache->Apply(Update(1, {Offer("a", 1)}, {}, GeneralOffers{{"a"}, 1})).ok());
  std::atomic<bool> stop{false};
  std::atomic<int64_t> served{0};
  std::thread reader([&] {
    while (!stop) served += static_cast<int64_t>(cache->Lookup("L1", clock_.NowMillis()).size());
  });
  for (uint64_t v = 2; v < 60; ++v) {
    ASSERT_TRUE(cache->Apply(Update(v, {Offer("o" + std::to_string(v), 1)},
                                    {{"L1", {"a", "o" + std::to_string(v)}, v}})).ok());
  }
  stop = true;
  reader.join();
  EXPECT_GT(served.load(), 0);
  EXPECT_EQ(Ids(cache->Lookup("L1", clock_.NowMillis())), (std::vector<std::string>{"a", "o59"}));
}

int64_t VmRssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// Figures, not assertions (STYLE 10): a store with 100,000 known customers, 5 offers each out of
// 40, pushed as 20 updates of 5,000 assignments.
TEST_F(OfferCacheTest, FiguresFor100kCustomers) {
  constexpr int kCustomers = 100'000;
  constexpr int kOffers = 40;
  malloc_trim(0);
  const int64_t rss0 = VmRssKiB();
  auto cache = Open();
  std::mt19937 rng(42);
  std::vector<OfferRecord> offers;
  for (int i = 0; i < kOffers; ++i) offers.push_back(Offer("offer-" + std::to_string(i), 1));
  ASSERT_TRUE(cache->Apply(Update(1, offers, {}, GeneralOffers{{"offer-0", "offer-1"}, 1})).ok());
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t v = 1;
  for (int start = 0; start < kCustomers; start += 5000) {
    OfferUpdate u;
    u.version = ++v;
    for (int c = start; c < start + 5000; ++c) {
      OfferAssignment a;
      a.loyalty_id = "LOY-" + std::to_string(1'000'000 + c);
      for (int k = 0; k < 5; ++k)
        a.offers.push_back("offer-" + std::to_string((c + k * 7) % kOffers));
      a.version = 1;
      u.assignments.push_back(std::move(a));
    }
    ASSERT_TRUE(cache->Apply(u).ok());
  }
  const double apply_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  malloc_trim(0);
  const int64_t rss1 = VmRssKiB();

  std::vector<double> us;
  us.reserve(200'000);
  const int64_t now = clock_.NowMillis();
  size_t served = 0;
  for (int i = 0; i < 200'000; ++i) {
    const int n = static_cast<int>(rng() % (kCustomers * 11 / 10));  // 10% unknown
    const std::string id = "LOY-" + std::to_string(1'000'000 + n);
    const auto a = std::chrono::steady_clock::now();
    served += cache->Lookup(id, now).size();
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(us.begin(), us.end());
  namespace fs = std::filesystem;
  auto size_of = [](const std::string& p) {
    std::error_code ec;
    auto s = fs::file_size(p, ec);
    return ec ? 0 : static_cast<int64_t>(s);
  };
  const auto t1 = std::chrono::steady_clock::now();
  cache.reset();
  auto reopened = Open();
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::printf(
      "[figures] offer cache, %d customers x 5 offers of %d (20 updates of 5000):\n"
      "  apply total %.2f s; reopen/load %.2f s\n"
      "  VmRSS delta %.1f MiB; db %.1f MiB (+ wal %.1f MiB)\n"
      "  Lookup (in-process, 200k, 10%% unknown ids) p50 %.2f us, p99 %.2f us, max %.1f us; "
      "%zu offers served\n",
      kCustomers, kOffers, apply_s, load_s, (rss1 - rss0) / 1024.0,
      size_of(Path()) / 1048576.0, size_of(Path() + "-wal") / 1048576.0, us[us.size() / 2],
      us[us.size() * 99 / 100], us.back(), served);
  EXPECT_EQ(reopened->Stats().assignments, kCustomers);
}

}  // namespace
}  // namespace cjd::agent
