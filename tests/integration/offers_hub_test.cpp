// Offers planned by the hub, end to end: a real Mosquitto, a real cjd-hub and real cjd-agent
// kiosks. Events go in through the kiosks' own API (loyalty scans, consent, transactions), up
// the uplink into profiles; segments and offers are created through the hub's API (and cjdctl);
// the hub ranks and pushes; the kiosks answer GET /v1/offers from their cache.
#include <gtest/gtest.h>

#include <thread>

#include "shared/core/clock.h"
#include "shared/event/event.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using cjd::testing::WaitUntil;
using json = nlohmann::json;
using Strings = std::vector<std::string>;

int64_t Now() { return Clock::Real()->NowMillis(); }
constexpr int64_t kDay = 86'400'000;

class OffersHub : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    kiosk_ = &fleet_.AddDevice("kiosk-1", "s1", "kiosk");
    other_ = &fleet_.AddDevice("kiosk-9", "s9", "kiosk");
    // Resend quickly in tests (a heartbeat every second).
    SetTomlKey(fleet_.hub_config(), "offers", "resend_after_s", "2");
    fleet_.StartHub();
    ASSERT_TRUE(fleet_.StartAgent(*kiosk_));
    ASSERT_TRUE(fleet_.StartAgent(*other_));
    ASSERT_TRUE(fleet_.WaitAgentConnected(*kiosk_, true));
  }

  HttpClient Hub() { return HttpClient(fleet_.hub_port(), 30s); }

  // POSTs `body` to the hub; the status (0: no answer).
  int HubPost(const std::string& path, const json& body, std::string* answer = nullptr) {
    HttpClient c = Hub();
    const HttpResponse r = c.Post(path, body.dump(), fleet_.hub_token());
    if (answer) *answer = r.body;
    return r.status;
  }

  static json Offer(const std::string& id, const std::string& segment, int priority,
                    int64_t until_ms = Now() + 30 * kDay) {
    return json{{"id", id},
                {"title", "Title of " + id},
                {"text", "Show this at the till"},
                {"segment", segment},
                {"stores", json::array()},
                {"valid_from", FormatRfc3339(Now() - kDay)},
                {"valid_until", FormatRfc3339(until_ms)},
                {"priority", priority},
                {"max_per_customer", 0},
                {"requires_consent", false}};
  }

  // An event through the kiosk's API (202 expected).
  void Post(FleetAgent& agent, json event) {
    HttpClient c(agent.port, 10s);
    const PostResult r = PostEvents(c, agent.token, event);
    ASSERT_EQ(r.status, 202) << r.body;
  }
  void Scan(FleetAgent& agent, const std::string& loyalty_id) {
    Post(agent, json{{"type", "loyalty_scan"},
                     {"occurred_at", FormatRfc3339(Now())},
                     {"store_id", agent.store},
                     {"customer", {{"loyalty_id", loyalty_id}}}});
  }
  void Consent(const std::string& loyalty_id, bool given, int64_t at_ms) {
    Post(*kiosk_, json{{"type", "consent_update"},
                       {"occurred_at", FormatRfc3339(at_ms)},
                       {"store_id", "s1"},
                       {"customer", {{"loyalty_id", loyalty_id}}},
                       {"consent", {{"marketing", given}}}});
  }

  // GET /v1/offers on a kiosk: the ids served, best first.
  Strings Served(FleetAgent& agent, const std::string& loyalty_id, int* status = nullptr) {
    HttpClient client(agent.port, 10s);
    const HttpResponse r = client.Get(
        loyalty_id.empty() ? "/v1/offers" : "/v1/offers?loyalty_id=" + loyalty_id, agent.token);
    if (status) *status = r.status;
    Strings ids;
    const auto j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object()) return ids;
    for (const auto& o : j["offers"]) ids.push_back(o.value("id", ""));
    return ids;
  }
  bool WaitServed(FleetAgent& agent, const std::string& loyalty_id, const Strings& want,
                  std::chrono::milliseconds timeout = kDeliveryTimeout) {
    return WaitUntil([&] { return Served(agent, loyalty_id) == want; }, timeout);
  }

  json DeviceEntry(const std::string& id) {
    const json d = fleet_.HubDevices();
    if (!d.is_object()) return json();
    for (const auto& e : d["devices"])
      if (e.value("device_id", "") == id) return e;
    return json();
  }

  // True once every stored event is projected and the device has applied every offer version the
  // hub planned for its store, twice in a row a second apart. Only then does "not served" mean
  // "excluded" rather than "not delivered yet".
  bool InSync(const std::string& device_id) {
    auto once = [&] {
      const json stats = fleet_.HubStats();
      if (!stats.is_object() || !stats["projection"].is_object()) return false;
      if (stats["projection"].value("cursor", int64_t{-1}) < stats.value("events_total", int64_t{0}))
        return false;
      const json e = DeviceEntry(device_id);
      return e.is_object() && e["offers_version"].is_number() &&
             e["offers_version"] == e["offers_target"];
    };
    return WaitUntil([&] { return once() && (std::this_thread::sleep_for(1s), once()); }, 60s);
  }

  Fleet fleet_{"cjd-itest-offers-hub-"};
  FleetAgent* kiosk_ = nullptr;
  FleetAgent* other_ = nullptr;
};

TEST_F(OffersHub, ANewSegmentOfferReachesMatchingCustomersOnlyAndTheKioskAnswersWithHubAndBrokerDown) {
  std::string answer;
  ASSERT_EQ(HubPost("/v1/segments", json{{"id", "regulars"}, {"rule", "loyalty_scans >= 2"}},
                    &answer),
            201)
      << answer;
  Scan(*kiosk_, "LOY-1");
  Scan(*kiosk_, "LOY-1");
  Scan(*kiosk_, "LOY-2");
  ASSERT_EQ(HubPost("/v1/offers", Offer("welcome", "all", 0), &answer), 201) << answer;
  ASSERT_TRUE(WaitServed(*kiosk_, "", Strings{"welcome"})) << fleet_.Diagnostics();
  // The offer for the segment, created once the customers are known.
  ASSERT_EQ(HubPost("/v1/offers", Offer("regulars-coffee", "regulars", 5), &answer), 201)
      << answer;
  ASSERT_TRUE(WaitServed(*kiosk_, "LOY-1", Strings{"regulars-coffee", "welcome"}))
      << Served(*kiosk_, "LOY-1").size() << "\n" << fleet_.Diagnostics();
  ASSERT_TRUE(InSync("kiosk-1")) << DeviceEntry("kiosk-1");
  EXPECT_EQ(Served(*kiosk_, "LOY-2"), Strings{"welcome"});
  EXPECT_EQ(Served(*kiosk_, "NOBODY"), Strings{"welcome"});
  // The other store's kiosk holds the general offer, not s1's customers.
  EXPECT_TRUE(WaitServed(*other_, "", Strings{"welcome"}));
  ASSERT_TRUE(InSync(other_->id)) << DeviceEntry(other_->id);
  EXPECT_EQ(Served(*other_, "LOY-1"), Strings{"welcome"});
  // A customer who joins the segment later gets the offer with no change to the offer.
  Scan(*kiosk_, "LOY-2");
  EXPECT_TRUE(WaitServed(*kiosk_, "LOY-2", Strings{"regulars-coffee", "welcome"}))
      << fleet_.Diagnostics();

  // GET /v1/devices: the version the kiosk applied catches up with the hub's.
  EXPECT_TRUE(WaitUntil(
      [&] {
        const json e = DeviceEntry("kiosk-1");
        return e.is_object() && e["offers_version"].is_number() &&
               e["offers_version"] == e["offers_target"];
      },
      60s))
      << DeviceEntry("kiosk-1");

  // Hub and broker down: the kiosk still answers from its cache.
  fleet_.KillHub();
  fleet_.broker().Stop();
  ASSERT_TRUE(fleet_.WaitAgentConnected(*kiosk_, false));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Served(*kiosk_, "LOY-1"), (Strings{"regulars-coffee", "welcome"}));
    EXPECT_EQ(Served(*kiosk_, "NOBODY"), Strings{"welcome"});
  }
}

TEST_F(OffersHub, RevokingConsentRemovesConsentBoundOffersAfterTheNextSync) {
  json members = Offer("members-only", "all", 5);
  members["requires_consent"] = true;
  std::string answer;
  ASSERT_EQ(HubPost("/v1/offers", members, &answer), 201) << answer;
  ASSERT_EQ(HubPost("/v1/offers", Offer("welcome", "all", 0), &answer), 201) << answer;
  Scan(*kiosk_, "LOY-5");
  Consent("LOY-5", true, Now() - 60'000);
  ASSERT_TRUE(WaitServed(*kiosk_, "LOY-5", Strings{"members-only", "welcome"}))
      << fleet_.Diagnostics();
  // Never to an unknown customer, nor to one without consent.
  EXPECT_EQ(Served(*kiosk_, "NOBODY"), Strings{"welcome"});
  Scan(*kiosk_, "LOY-6");
  Consent("LOY-5", false, Now());
  EXPECT_TRUE(WaitServed(*kiosk_, "LOY-5", Strings{"welcome"})) << fleet_.Diagnostics();
  ASSERT_TRUE(InSync("kiosk-1")) << DeviceEntry("kiosk-1");
  EXPECT_EQ(Served(*kiosk_, "LOY-5"), Strings{"welcome"});
  EXPECT_EQ(Served(*kiosk_, "LOY-6"), Strings{"welcome"});
}

TEST_F(OffersHub, AnOfferPastItsEndDisappearsWithoutAnySync) {
  const int64_t until = Now() + 15'000;
  std::string answer;
  ASSERT_EQ(HubPost("/v1/offers", Offer("flash", "all", 9, until), &answer), 201) << answer;
  ASSERT_EQ(HubPost("/v1/offers", Offer("steady", "all", 0), &answer), 201) << answer;
  ASSERT_TRUE(WaitServed(*kiosk_, "", Strings{"flash", "steady"}, 12s)) << fleet_.Diagnostics();
  // No sync at all from here: the broker goes away.
  fleet_.broker().Stop();
  ASSERT_TRUE(fleet_.WaitAgentConnected(*kiosk_, false));
  EXPECT_TRUE(WaitServed(*kiosk_, "", Strings{"steady"}, 30s));
  EXPECT_GE(Now(), until);
}

TEST_F(OffersHub, ImpressionsAndRedemptionsGiveTheOffersStatsAndTheLimitPerCustomer) {
  json once = Offer("once", "all", 3);
  once["max_per_customer"] = 1;
  std::string answer;
  ASSERT_EQ(HubPost("/v1/offers", once, &answer), 201) << answer;
  ASSERT_EQ(HubPost("/v1/offers", Offer("welcome", "all", 0), &answer), 201) << answer;
  Scan(*kiosk_, "LOY-9");
  ASSERT_TRUE(WaitServed(*kiosk_, "LOY-9", Strings{"once", "welcome"})) << fleet_.Diagnostics();
  for (int i = 0; i < 3; ++i) Served(*kiosk_, "LOY-9");  // four impressions of each offer in all
  Post(*kiosk_, json::parse(R"({"type":"transaction","occurred_at":")" + FormatRfc3339(Now()) +
                            R"(","store_id":"s1","customer":{"loyalty_id":"LOY-9"},
      "order":{"order_id":"T-77","currency":"GBP","items":[
        {"sku":"mug","quantity":2,"unit_price":"4.50","offer_id":"once"},
        {"sku":"tea","quantity":1,"unit_price":"3.00"}]}})"));
  // Redeemed once: it leaves LOY-9's list; others still see it.
  EXPECT_TRUE(WaitServed(*kiosk_, "LOY-9", Strings{"welcome"})) << fleet_.Diagnostics();
  EXPECT_EQ(Served(*kiosk_, "NOBODY"), (Strings{"once", "welcome"}));
  json stats;
  EXPECT_TRUE(WaitUntil(
      [&] {
        HttpClient c = Hub();
        const HttpResponse r = c.Get("/v1/offers/once/stats", fleet_.hub_token());
        stats = json::parse(r.body, nullptr, false);
        return r.status == 200 && stats.value("impressions", 0) >= 4 &&
               stats.value("redemptions", 0) == 1;
      },
      kDeliveryTimeout))
      << stats << "\n" << fleet_.Diagnostics();
  EXPECT_EQ(stats.value("revenue", ""), "12.00");  // the whole redeeming order, gross
  EXPECT_EQ(stats.value("currency", ""), "GBP");
  EXPECT_GT(stats.value("redemption_rate", 0.0), 0.0);
  EXPECT_EQ(Hub().Get("/v1/offers/never-made/stats", fleet_.hub_token()).status, 404);
}

TEST_F(OffersHub, TheApiAndCjdctlNameWhatIsWrong) {
  HttpClient c = Hub();
  json bad = Offer("x", "all", 0);
  bad["valid_until"] = "tomorrow";
  HttpResponse r = c.Post("/v1/offers", bad.dump(), fleet_.hub_token());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"field\":\"valid_until\""), std::string::npos) << r.body;
  r = c.Post("/v1/offers", Offer("x", "no-such-segment", 0).dump(), fleet_.hub_token());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"field\":\"segment\""), std::string::npos) << r.body;
  r = c.Post("/v1/offers", "{not json", fleet_.hub_token());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(c.Post("/v1/offers", Offer("x", "all", 0).dump()).status, 401);
  EXPECT_EQ(c.Delete("/v1/offers/nope", fleet_.hub_token()).status, 404);
  EXPECT_EQ(c.Get("/v1/offers/bad%20id", fleet_.hub_token()).status, 400);

  const std::string hub = "http://127.0.0.1:" + std::to_string(fleet_.hub_port());
  const std::string& token = fleet_.hub_token();
  const std::string cjdctl = cjd::testing::CjdctlBinary();
  std::string out;
  int rc = cjd::testing::RunCommand(
      {cjdctl, "offers", "create", "--hub", hub, "--token", token, "--id", "cli-1", "--title",
       "From the CLI", "--segment", "all", "--store", "s1", "--valid-from",
       "2026-01-01T00:00:00Z", "--valid-until", "2099-01-01T00:00:00Z", "--priority", "4"},
      30s, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "created offer cli-1 (version 1)\n");
  rc = cjd::testing::RunCommand({cjdctl, "offers", "list", "--hub", hub, "--token", token}, 30s,
                                &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("cli-1"), std::string::npos) << out;
  EXPECT_NE(out.find("From the CLI"), std::string::npos) << out;
  EXPECT_NE(out.find("1 offers"), std::string::npos) << out;
  rc = cjd::testing::RunCommand(
      {cjdctl, "offers", "create", "--hub", hub, "--token", token, "--id", "cli-2", "--title",
       "t", "--segment", "all", "--valid-from", "2026-01-01T00:00:00Z", "--valid-until",
       "2025-01-01T00:00:00Z"},
      30s, &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("valid_until"), std::string::npos) << out;
  rc = cjd::testing::RunCommand({cjdctl, "offers", "delete", "cli-1", "--hub", hub, "--token",
                                 token},
                                30s, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "deleted offer cli-1 (version 2)\n");
  rc = cjd::testing::RunCommand({cjdctl, "offers", "put", "/nonexistent.json", "--hub", hub,
                                 "--token", token},
                                30s, &out);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("cannot read /nonexistent.json"), std::string::npos) << out;
  // The kiosk of s1 drops the deleted offer.
  EXPECT_TRUE(WaitServed(*kiosk_, "", Strings{})) << fleet_.Diagnostics();
}

}  // namespace
}  // namespace cjd::itest
