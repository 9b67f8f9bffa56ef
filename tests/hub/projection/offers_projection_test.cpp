// The projection's tables for personalised offers (migration 4): the stores a profile was seen
// at, the orders that redeemed each offer, offer impressions, ProfileReader::OfferStats, and
// the backfill of projections made before them.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "hub/projection/profile_offer_reader.h"
#include "tests/hub/projection/projection_fixture.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

class OfferProjectionTest : public ProjectorTest {
 protected:
  // Two customers, A (loyalty card) and B (email), seen at three stores; orders in several
  // parts, some anonymous, naming offers on items and on the order; impressions, anonymous too.
  void LogOffers() {
    Log(R"({"type":"loyalty_scan","occurred_at":"2011-01-01T10:00:00Z","store_id":"s1",
            "customer":{"loyalty_id":"L-A"}})");
    Log(R"({"type":"transaction","occurred_at":"2011-01-05T10:00:00Z","store_id":"s2",
            "customer":{"loyalty_id":"L-A"},"order":{"order_id":"R1","currency":"GBP","items":[
              {"sku":"a","quantity":2,"unit_price":"2.50","offer_id":"OF-1"},
              {"sku":"b","quantity":1,"unit_price":"3.335","offer_id":"OF-2"}]}})");
    // The second part of R1, anonymous: OF-1 again, and OF-3 on the order.
    Log(R"({"type":"transaction","occurred_at":"2011-01-05T10:05:00Z","store_id":"s2",
            "order":{"order_id":"R1","currency":"GBP","offer_id":"OF-3","items":[
              {"sku":"c","quantity":1,"unit_price":"1","offer_id":"OF-1"}]}})");
    // Late: s1's first visit stays 01-01.
    Log(R"({"type":"loyalty_scan","occurred_at":"2011-01-03T10:00:00Z","store_id":"s1",
            "customer":{"loyalty_id":"L-A"}})");
    Log(R"({"type":"order_completed","occurred_at":"2011-01-02T10:00:00Z","store_id":"s1",
            "customer":{"email":"b@shop.co.uk"},"order":{"order_id":"R2","currency":"GBP",
              "offer_id":"OF-1","items":[{"sku":"a","quantity":1,"unit_price":"4.10"}]}})");
    // R3 starts anonymous; its second part names B, whose order it becomes.
    Log(R"({"type":"transaction","occurred_at":"2011-01-06T10:00:00Z","store_id":"s3",
            "order":{"order_id":"R3","currency":"GBP","items":[
              {"sku":"a","quantity":1,"unit_price":"0.335","offer_id":"OF-1"}]}})");
    Log(R"({"type":"transaction","occurred_at":"2011-01-06T10:05:00Z","store_id":"s3",
            "customer":{"email":"b@shop.co.uk"},"order":{"order_id":"R3","currency":"GBP",
              "items":[{"sku":"b","quantity":1,"unit_price":"2"}]}})");
    Log(R"({"type":"transaction","occurred_at":"2011-01-07T10:00:00Z","store_id":"s1",
            "customer":{"loyalty_id":"L-A"},"order":{"order_id":"R4","currency":"EUR","items":[
              {"sku":"a","quantity":1,"unit_price":"9","offer_id":"OF-1"}]}})");
    Log(R"({"type":"offer_impression","occurred_at":"2011-01-01T09:00:00Z","store_id":"s1",
            "offer_ids":["OF-1","OF-2"]})");
    // Listed twice in one event: shown once.
    Log(R"({"type":"offer_impression","occurred_at":"2011-01-08T10:00:00Z","store_id":"s1",
            "customer":{"loyalty_id":"L-A"},"offer_ids":["OF-1","OF-1"]})");
    Log(R"({"type":"offer_impression","occurred_at":"2011-01-09T10:00:00Z","store_id":"s3",
            "customer":{"email":"b@shop.co.uk"},"offer_ids":["OF-1"]})");
    Log(R"({"type":"offer_impression","occurred_at":"2011-01-04T10:00:00Z","store_id":"s2",
            "offer_ids":["OF-2","OF-4"]})");
    Log(R"({"type":"offer_impression","occurred_at":"2011-01-04T11:00:00Z","store_id":"s2",
            "offer_ids":["OF-4","OF-2"]})");
  }

  static std::string Ms(const std::string& rfc3339) {
    return std::to_string(*ParseRfc3339(rfc3339));
  }
  std::string Store(int64_t profile, const std::string& store, const std::string& first,
                    const std::string& last, int events) {
    return std::to_string(profile) + " " + store + " " + Ms(first) + " " + Ms(last) + " " +
           std::to_string(events);
  }
  std::vector<std::string> Stores() {
    return Rows("SELECT profile_id || ' ' || store_id || ' ' || first_ms || ' ' || last_ms || "
                "' ' || events FROM profile_stores ORDER BY profile_id, store_id");
  }
  std::vector<std::string> Redemptions() {
    return Rows("SELECT offer_id || ' ' || order_id || ' ' || coalesce(profile_id, '-') || ' ' "
                "|| occurred_at_ms FROM offer_redemptions ORDER BY offer_id, order_id");
  }
  std::vector<std::string> Impressions() {
    return Rows("SELECT offer_id || ' ' || impressions || ' ' || last_ms FROM offer_impressions "
                "ORDER BY offer_id");
  }
  // Everything migration 4 added, for comparing two projections.
  std::vector<std::string> OfferTables() {
    std::vector<std::string> all = Stores();
    for (const auto& r : Redemptions()) all.push_back("redemption " + r);
    for (const auto& r : Impressions()) all.push_back("impression " + r);
    return all;
  }
  // Redemptions whose profile is not their order's.
  int64_t StrayRedemptions() {
    return std::stoll(Rows("SELECT count(*) FROM offer_redemptions r JOIN orders o "
                           "ON o.order_id = r.order_id WHERE r.profile_id IS NOT o.profile_id")
                          .at(0));
  }

  json Stats(const std::string& offer_id) {
    auto s = reader_->OfferStats(offer_id);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : json();
  }

  // Turns profiles.db back into what a hub before migration 4 left (the projector stopped).
  void MakeVersion3() {
    StopProjection();
    auto db = sqlite::Database::Open(config_.profiles_path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Exec("DROP TABLE profile_stores; DROP TABLE offer_redemptions; "
                            "DROP TABLE offer_impressions; "
                            "DROP TABLE rollup_orders; DROP TABLE rollup_customers; "
                            "DROP TABLE rollup_top; DROP TABLE rollup_digest; "
                            "DROP INDEX orders_by_store_day; "
                            "ALTER TABLE merge_log DROP COLUMN reason; "
                            "ALTER TABLE merge_log DROP COLUMN probability; "
                            "DROP TABLE redemption_log; "
                            "DROP TABLE erasures_applied; "
                            "DELETE FROM meta WHERE key IN ('backfill_offers', 'created_ms'); "
                            "PRAGMA user_version = 3").ok());
  }
};

TEST_F(OfferProjectionTest, StoresRecordWhereEachProfileWasSeenThroughMergesAndSplits) {
  LogOffers();
  CatchUp();
  const int64_t a = ProfileOf("loyalty_id:L-A");
  const int64_t b = ProfileOf("email:b@shop.co.uk");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, a);
  const std::vector<std::string> apart = {
      // two scans, R4, an impression
      Store(a, "s1", "2011-01-01T10:00:00Z", "2011-01-08T10:00:00Z", 4),
      // R1's first part (its second, anonymous, part counts for nobody)
      Store(a, "s2", "2011-01-05T10:00:00Z", "2011-01-05T10:00:00Z", 1),
      Store(b, "s1", "2011-01-02T10:00:00Z", "2011-01-02T10:00:00Z", 1),
      Store(b, "s3", "2011-01-06T10:05:00Z", "2011-01-09T10:00:00Z", 2),
  };
  EXPECT_EQ(Stores(), apart);

  Log(R"({"type":"identify","occurred_at":"2011-02-01T10:00:00Z",
          "customer":{"loyalty_id":"L-A","email":"b@shop.co.uk"}})");
  CatchUp();
  ASSERT_EQ(ProfileOf("email:b@shop.co.uk"), a);
  EXPECT_EQ(Stores(), std::vector<std::string>({
                          Store(a, "s1", "2011-01-01T10:00:00Z", "2011-01-08T10:00:00Z", 5),
                          Store(a, "s2", "2011-01-05T10:00:00Z", "2011-01-05T10:00:00Z", 1),
                          Store(a, "s3", "2011-01-06T10:05:00Z", "2011-01-09T10:00:00Z", 2),
                      }));
  // The merged profile keeps being seen.
  Log(R"({"type":"loyalty_scan","occurred_at":"2011-02-02T10:00:00Z","store_id":"s3",
          "customer":{"loyalty_id":"L-A"}})");
  CatchUp();
  EXPECT_EQ(Stores().back(), Store(a, "s3", "2011-01-06T10:05:00Z", "2011-02-02T10:00:00Z", 3));

  // The split recomputes both profiles from their events.
  auto split = projector_->Split(a, 0);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  ASSERT_EQ(split->restored, b);
  EXPECT_EQ(Stores(), std::vector<std::string>({
                          apart[0], apart[1],
                          Store(a, "s3", "2011-02-02T10:00:00Z", "2011-02-02T10:00:00Z", 1),
                          apart[2], apart[3],
                      }));
}

TEST_F(OfferProjectionTest, AnOrderRedeemsEachOfferItNamesOnceAndFollowsItsProfile) {
  LogOffers();
  CatchUp();
  const int64_t a = ProfileOf("loyalty_id:L-A");
  const int64_t b = ProfileOf("email:b@shop.co.uk");
  const std::string as = std::to_string(a), bs = std::to_string(b);
  const std::string r1 = Ms("2011-01-05T10:00:00Z");  // an order's time is its first part's
  const std::vector<std::string> apart = {
      "OF-1 R1 " + as + " " + r1,                           // on items of both parts: once
      "OF-1 R2 " + bs + " " + Ms("2011-01-02T10:00:00Z"),   // on the order
      "OF-1 R3 " + bs + " " + Ms("2011-01-06T10:00:00Z"),   // anonymous part, then B's
      "OF-1 R4 " + as + " " + Ms("2011-01-07T10:00:00Z"),
      "OF-2 R1 " + as + " " + r1,
      "OF-3 R1 " + as + " " + r1,                           // on an anonymous part's order
  };
  EXPECT_EQ(Redemptions(), apart);
  EXPECT_EQ(StrayRedemptions(), 0);

  Log(R"({"type":"identify","occurred_at":"2011-02-01T10:00:00Z",
          "customer":{"loyalty_id":"L-A","email":"b@shop.co.uk"}})");
  CatchUp();
  std::vector<std::string> merged = Redemptions();
  for (const std::string& r : merged) EXPECT_NE(r.find(" " + as + " "), std::string::npos) << r;
  EXPECT_EQ(merged.size(), 6u);
  EXPECT_EQ(StrayRedemptions(), 0);

  ASSERT_TRUE(projector_->Split(a, 0).ok());
  const std::vector<std::string> split = Redemptions();
  EXPECT_EQ(split[0], apart[0]);
  EXPECT_EQ(split[1], apart[1]);  // B's own order went back with B's events
  EXPECT_EQ(split[3], apart[3]);
  EXPECT_EQ(StrayRedemptions(), 0);  // R3 too: wherever the split leaves the order
  // A later part naming an offer already redeemed by the order adds nothing.
  Log(R"({"type":"transaction","occurred_at":"2011-02-03T10:00:00Z","store_id":"s2",
          "customer":{"loyalty_id":"L-A"},"order":{"order_id":"R1","currency":"GBP",
            "offer_id":"OF-2","items":[{"sku":"d","quantity":1,"unit_price":"1"}]}})");
  CatchUp();
  EXPECT_EQ(Redemptions(), split);
  // A returned item naming an offer is not a redemption.
  Log(R"({"type":"transaction","occurred_at":"2011-02-04T10:00:00Z","store_id":"s2",
          "customer":{"loyalty_id":"L-A"},"order":{"order_id":"C9","currency":"GBP",
            "items":[{"sku":"a","quantity":-1,"unit_price":"2.50","offer_id":"OF-9"}]}})");
  CatchUp();
  EXPECT_EQ(Redemptions(), split);
}

TEST_F(OfferProjectionTest, ImpressionsCountEveryEventListingTheOffer) {
  LogOffers();
  CatchUp();
  EXPECT_EQ(Impressions(), std::vector<std::string>({
                               "OF-1 3 " + Ms("2011-01-09T10:00:00Z"),
                               "OF-2 3 " + Ms("2011-01-04T11:00:00Z"),
                               "OF-4 2 " + Ms("2011-01-04T11:00:00Z"),
                           }));
}

TEST_F(OfferProjectionTest, OfferStatsAreExact) {
  LogOffers();
  CatchUp();
  // R1 9.335 + R2 4.10 + R3 2.335 = 15.77 exactly (rounding each first would give 15.78).
  EXPECT_EQ(Stats("OF-1"), json::parse(R"({"offer_id":"OF-1","impressions":3,"redemptions":4,
      "redemption_rate":1.3333,"revenue":"15.77","currency":"GBP",
      "revenue_by_currency":{"GBP":"15.77","EUR":"9.00"}})"));
  EXPECT_EQ(Stats("OF-1")["redemption_rate"].dump(), "1.3333");
  EXPECT_EQ(Stats("OF-2"), json::parse(R"({"offer_id":"OF-2","impressions":3,"redemptions":1,
      "redemption_rate":0.3333,"revenue":"9.34","currency":"GBP",
      "revenue_by_currency":{"GBP":"9.34"}})"));
  EXPECT_EQ(Stats("OF-3"), json::parse(R"({"offer_id":"OF-3","impressions":0,"redemptions":1,
      "redemption_rate":null,"revenue":"9.34","currency":"GBP",
      "revenue_by_currency":{"GBP":"9.34"}})"));
  EXPECT_EQ(Stats("OF-4"), json::parse(R"({"offer_id":"OF-4","impressions":2,"redemptions":0,
      "redemption_rate":0.0,"revenue":"0.00","currency":null,"revenue_by_currency":{}})"));
  EXPECT_EQ(Stats("never-seen"), json::parse(R"({"offer_id":"never-seen","impressions":0,
      "redemptions":0,"redemption_rate":null,"revenue":"0.00","currency":null,
      "revenue_by_currency":{}})"));
  // Merges and splits move redemptions between profiles, not in or out of an offer.
  Log(R"({"type":"identify","occurred_at":"2011-02-01T10:00:00Z",
          "customer":{"loyalty_id":"L-A","email":"b@shop.co.uk"}})");
  CatchUp();
  const json before = Stats("OF-1");
  ASSERT_TRUE(projector_->Split(ProfileOf("loyalty_id:L-A"), 0).ok());
  EXPECT_EQ(Stats("OF-1"), before);
  EXPECT_EQ(reader_->OfferStats("").status().field(), "offer_id");
  EXPECT_EQ(reader_->OfferStats(std::string(65, 'x')).status().field(), "offer_id");
}

TEST_F(OfferProjectionTest, RedemptionsAndStoresChangeTheFeed) {
  LogOffers();
  CatchUp();
  const int64_t a = ProfileOf("loyalty_id:L-A");
  (void)TakeFeed();
  // An anonymous part redeeming an offer on A's order: A's redemptions changed.
  Log(R"({"type":"transaction","occurred_at":"2011-02-03T10:00:00Z","store_id":"s9",
          "order":{"order_id":"R4","currency":"EUR","offer_id":"OF-9",
            "items":[{"sku":"d","quantity":1,"unit_price":"1"}]}})");
  CatchUp();
  EXPECT_EQ(FeedUnion(), std::set<int64_t>({a}));
}

TEST_F(OfferProjectionTest, AProjectionFromBeforeTheOfferTablesIsBackfilledFromTheLog) {
  LogOffers();
  Log(R"({"type":"identify","occurred_at":"2011-02-01T10:00:00Z",
          "customer":{"loyalty_id":"L-A","email":"b@shop.co.uk"}})");
  Log(R"({"type":"loyalty_scan","occurred_at":"2011-02-02T10:00:00Z","store_id":"s3",
          "customer":{"loyalty_id":"L-A"}})");
  CatchUp();
  const int64_t a = ProfileOf("loyalty_id:L-A");
  const std::vector<std::string> kept = OfferTables();
  ASSERT_EQ(kept.size(), 3u + 6u + 3u);
  const json stats = Stats("OF-1");
  (void)TakeFeed();

  MakeVersion3();
  StartProjection();
  CatchUp();
  EXPECT_EQ(OfferTables(), kept);
  EXPECT_EQ(Stats("OF-1"), stats);
  EXPECT_EQ(FeedUnion(), std::set<int64_t>({a}));  // every profile the backfill gave rows
  // Once: the next start leaves the tables alone (the key is gone).
  EXPECT_EQ(Rows("SELECT count(*) FROM meta WHERE key = 'backfill_offers'"),
            std::vector<std::string>({"0"}));

  // A fresh projection of the same log agrees.
  StopProjection();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(config_.profiles_path + suffix);
  }
  StartProjection();
  CatchUp();
  EXPECT_EQ(OfferTables(), kept);

  // After a split (which a rebuild cannot reproduce), the backfill matches what the
  // projector keeps.
  ASSERT_TRUE(projector_->Split(a, 0).ok());
  const std::vector<std::string> split = OfferTables();
  ASSERT_NE(split, kept);
  MakeVersion3();
  StartProjection();
  CatchUp();
  EXPECT_EQ(OfferTables(), split);
  EXPECT_EQ(StrayRedemptions(), 0);
}

}  // namespace
}  // namespace cjd::hub

// ProfileOfferReader: the offer planner's only way into profiles.db.
namespace cjd::hub {
namespace {

TEST_F(OfferProjectionTest, ProfileOfferReaderAnswersWhatThePlannerAsks) {
  LogOffers();
  CatchUp();
  const int64_t a = ProfileOf("loyalty_id:L-A");
  const int64_t b = ProfileOf("email:b@shop.co.uk");
  ASSERT_NE(a, b);
  auto opened = ProfileOfferReader::Open(config_.profiles_path);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ProfileOfferReader& reader = **opened;
  const identity::IdKey la = identity::IdentifierKey(identity::IdType::kLoyaltyId, "L-A",
                                                     keys_.pepper);
  const std::string la_key(reinterpret_cast<const char*>(la.data()), la.size());

  auto ta = reader.Target(a);
  ASSERT_TRUE(ta.ok()) << ta.status().ToString();
  EXPECT_TRUE(ta->live);
  EXPECT_FALSE(ta->consent);
  EXPECT_EQ(std::set<std::string>(ta->stores.begin(), ta->stores.end()),
            std::set<std::string>({"s1", "s2"}));
  ASSERT_EQ(ta->loyalty.size(), 1u);
  EXPECT_EQ(ta->loyalty[0].key, la_key);
  EXPECT_FALSE(ta->loyalty[0].sealed.empty());
  EXPECT_EQ(ta->loyalty[0].sealed.find("L-A"), std::string::npos);  // sealed, never plain
  auto tb = reader.Target(b);
  ASSERT_TRUE(tb.ok());
  EXPECT_TRUE(tb->live);
  EXPECT_TRUE(tb->loyalty.empty());
  auto none = reader.Target(987654);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->live);
  EXPECT_TRUE(none->stores.empty());

  EXPECT_EQ(*reader.Redemptions(a, "OF-1"), 2);  // R1, R4
  EXPECT_EQ(*reader.Redemptions(b, "OF-1"), 2);  // R2, R3
  EXPECT_EQ(*reader.Redemptions(a, "OF-9"), 0);
  auto of1 = reader.RedemptionsOf("OF-1");
  ASSERT_TRUE(of1.ok());
  EXPECT_EQ(*of1, (std::unordered_map<int64_t, int64_t>{{a, 2}, {b, 2}}));

  auto walk = [&](const std::string& store) {
    std::vector<std::pair<int64_t, std::string>> seen;
    Status st = reader.ForEachLoyaltyCustomer(store, [&](const StoreLoyaltyCustomer& c) {
      seen.emplace_back(c.profile_id, c.loyalty.key);
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return seen;
  };
  using Seen = std::vector<std::pair<int64_t, std::string>>;
  EXPECT_EQ(walk("s2"), (Seen{{a, la_key}}));
  EXPECT_EQ(walk("s3"), Seen{});  // B shops there, with no loyalty id
  // A failing callback stops the walk with its status.
  Status stopped = reader.ForEachLoyaltyCustomer(
      "s2", [](const StoreLoyaltyCustomer&) { return Status::Invalid("stop", "x"); });
  EXPECT_EQ(stopped.code(), Code::kInvalid);

  // Consent and a merge, as the reader sees them after the projector commits.
  Log(R"({"type":"consent_update","occurred_at":"2011-02-01T09:00:00Z",
          "customer":{"loyalty_id":"L-A"},"consent":{"marketing":true}})");
  Log(R"({"type":"identify","occurred_at":"2011-02-01T10:00:00Z",
          "customer":{"loyalty_id":"L-A","email":"b@shop.co.uk"}})");
  CatchUp();
  const int64_t survivor = ProfileOf("loyalty_id:L-A");
  const int64_t gone = survivor == a ? b : a;
  EXPECT_FALSE(reader.Target(gone)->live);
  auto ts = reader.Target(survivor);
  ASSERT_TRUE(ts.ok());
  EXPECT_TRUE(ts->live);
  EXPECT_TRUE(ts->consent);
  EXPECT_EQ(walk("s3"), (Seen{{survivor, la_key}}));  // B's store, now the survivor's
  EXPECT_EQ(*reader.RedemptionsOf("OF-1"), (std::unordered_map<int64_t, int64_t>{{survivor, 4}}));

  // A snapshot holds still while the projector commits.
  ASSERT_TRUE(reader.BeginSnapshot().ok());
  EXPECT_EQ(walk("s4"), Seen{});
  Log(R"({"type":"loyalty_scan","occurred_at":"2011-02-02T10:00:00Z","store_id":"s4",
          "customer":{"loyalty_id":"L-A"}})");
  CatchUp();
  EXPECT_EQ(walk("s4"), Seen{});
  reader.EndSnapshot();
  EXPECT_EQ(walk("s4"), (Seen{{survivor, la_key}}));
}

}  // namespace
}  // namespace cjd::hub
