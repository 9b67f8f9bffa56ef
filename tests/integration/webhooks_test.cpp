// Webhooks (issue 16, activation): a real hub delivers segment.entered / segment.left and
// profile.merged to a real HTTP server under the test's control. Every delivery is signed
// (X-CJD-Signature, HMAC-SHA256 of the body under the secret); a receiver that answers 503 and
// then is gone altogether gets everything, in order, once it is back; a retry keeps its id and
// no event arrives twice under two ids; an audience destination first gets its segment's
// current members; GET /v1/destinations/{id}/deliveries shows attempts and the last error; bad
// registrations name their field.
#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "shared/http/server.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;

constexpr const char* kSecret = "whsec-test-0123456789abcdef";

std::string Hmac(const std::string& secret, const std::string& body) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&st, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
  return std::string("sha256=") + hex;
}

// The receiving end: a real HTTP server (the project's own, on 127.0.0.1) that checks each
// delivery's signature and keeps what it accepted. `answer` is what it replies (503: "down").
class Receiver {
 public:
  explicit Receiver(uint16_t port = 0) { Start(port); }
  void Start(uint16_t port) {
    http::ServerOptions o;
    o.listen = {"127.0.0.1", port};
    server_ = std::make_unique<http::Server>(
        o, [this](http::Request&& req, http::Responder respond) {
          std::lock_guard lock(mu_);
          ++requests_;
          const bool signed_ok = req.Header("x-cjd-signature") == Hmac(kSecret, req.body);
          if (!signed_ok) ++bad_signatures_;
          if (answer_ != 200 || !signed_ok) return respond({answer_ != 200 ? answer_ : 401, "{}"});
          json body = json::parse(req.body, nullptr, false);
          if (req.Header("x-cjd-delivery") != body.value("id", "")) ++bad_headers_;
          received_.push_back(body);
          respond({200, "{}"});
        });
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }
  void Stop() { server_.reset(); }
  void set_answer(int status) {
    std::lock_guard lock(mu_);
    answer_ = status;
  }
  std::vector<json> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  int64_t requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  int64_t bad_signatures() {
    std::lock_guard lock(mu_);
    return bad_signatures_;
  }
  int64_t bad_headers() {
    std::lock_guard lock(mu_);
    return bad_headers_;
  }
  uint16_t port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  std::mutex mu_;
  int answer_ = 200;
  int64_t requests_ = 0, bad_signatures_ = 0, bad_headers_ = 0;
  std::vector<json> received_;
  uint16_t port_ = 0;
  std::unique_ptr<http::Server> server_;
};

class Webhooks : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    ASSERT_GE(sodium_init(), 0);
    fleet_.StartBroker();
    fleet_.InitHub();
    key_ = fleet_.AddSource("webshop");
    fleet_.StartHub();
    hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 60s);
  }

  HttpResponse Admin(const std::string& method, const std::string& path, const json& body = {}) {
    return hub_->Request(method, path, body.is_null() ? "" : body.dump(),
                         {{"Authorization", "Bearer " + fleet_.hub_token()},
                          {"Content-Type", "application/json"}});
  }
  void Order(const json& customer, const std::string& order_id, const std::string& price,
             const std::string& offer_id = "") {
    const json e = {{"type", "order_completed"},
                    {"event_id", "ev-" + order_id},
                    {"occurred_at", "2026-03-01T10:00:00Z"},
                    {"customer", customer},
                    {"order",
                     {{"order_id", order_id},
                      {"currency", "EUR"},
                      {"items", {{{"sku", "S1"}, {"quantity", 1}, {"unit_price", price}}}}}}};
    json with_offer = e;
    if (!offer_id.empty()) with_offer["order"]["offer_id"] = offer_id;
    HttpResponse r = hub_->Post("/v1/collect", with_offer.dump(), key_);
    ASSERT_EQ(r.status, 202) << r.body;
  }
  int64_t ProfileOf(const std::string& identifier) {
    json p = Admin("GET", "/v1/profiles?identifier=" + identifier).Json();
    return p.is_object() && p.contains("profile_id") ? p["profile_id"].get<int64_t>() : 0;
  }

  Fleet fleet_;
  std::string key_;
  std::unique_ptr<HttpClient> hub_;
};

TEST_F(Webhooks, SignedDeliveriesArriveOnceEachAndSurviveAReceiverThatWasDown) {
  ASSERT_EQ(Admin("POST", "/v1/segments", {{"id", "buyers"}, {"rule", "orders >= 1"}}).status, 201);
  Receiver receiver;
  HttpResponse r = Admin("POST", "/v1/destinations",
                         {{"id", "crm"},
                          {"url", receiver.url("/hooks/cjd")},
                          {"secret", kSecret},
                          {"events",
                           {"segment.entered", "segment.left", "profile.merged", "offer.redeemed"}}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_FALSE(r.Json().contains("secret"));

  Order({{"email", "ann.lee@shop-mail.co.uk"}}, "W-1", "10.00");
  Order({{"loyalty_id", "L-77"}}, "W-2", "4.00");
  auto entered_by = [&](const std::vector<json>& got) {
    std::map<std::string, int64_t> n;  // segment.entered of buyers per profile
    for (const json& d : got) {
      if (d["type"] == "segment.entered" && d["data"]["segment"] == "buyers") {
        ++n[std::to_string(d["data"]["profile_id"].get<int64_t>())];
      }
    }
    return n;
  };
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return entered_by(receiver.received()).size() == 2; },
                                      60s))
      << json(receiver.received()).dump() << Admin("GET", "/v1/destinations/crm/deliveries").body;
  const int64_t ann = ProfileOf("email:ann.lee@shop-mail.co.uk");
  ASSERT_GT(ann, 0);
  // The delivery: id, type, occurred_at, data with the profile's identifiers (read when sent).
  for (const json& d : receiver.received()) {
    EXPECT_EQ(d["id"].get<std::string>().rfind("dlv_", 0), 0u) << d.dump();
    EXPECT_TRUE(d["occurred_at"].is_string());
    if (d["data"]["profile_id"] == ann) {
      ASSERT_TRUE(d["data"]["identifiers"].is_array()) << d.dump();
      EXPECT_EQ(d["data"]["identifiers"][0]["type"], "email") << d.dump();
      EXPECT_EQ(d["data"]["identifiers"][0]["value"], "ann.lee@shop-mail.co.uk") << d.dump();
    }
  }

  // The receiver is down: first it answers 503, then nothing listens on its port at all.
  receiver.set_answer(503);
  const int64_t before = static_cast<int64_t>(receiver.received().size());
  // The loyalty card joins Ann's profile: a merge (and the absorbed profile leaves the segment).
  const json link = {{"type", "identify"},
                     {"event_id", "ev-link"},
                     {"occurred_at", "2026-03-02T10:00:00Z"},
                     {"customer", {{"email", "ann.lee@shop-mail.co.uk"}, {"loyalty_id", "L-77"}}}};
  ASSERT_EQ(hub_->Post("/v1/collect", link.dump(), key_).status, 202);
  Order({{"email", "cat@shop-mail.co.uk"}}, "W-3", "7.50", "SPRING10");
  json pending;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        pending = Admin("GET", "/v1/destinations/crm/deliveries?status=pending").Json();
        return pending.contains("deliveries") && !pending["deliveries"].empty() &&
               pending["deliveries"][0]["attempts"].get<int64_t>() >= 2;
      },
      60s))
      << pending.dump();
  EXPECT_EQ(pending["deliveries"][0]["last_status"], 503) << pending.dump();
  EXPECT_NE(pending["deliveries"][0]["last_error"].get<std::string>().find("503"), std::string::npos);
  const uint16_t port = receiver.port();
  receiver.Stop();
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        pending = Admin("GET", "/v1/destinations/crm/deliveries?status=pending").Json();
        return pending.contains("deliveries") && !pending["deliveries"].empty() &&
               pending["deliveries"][0]["last_status"].is_null();
      },
      60s))
      << pending.dump();  // no answer at all: no status, an error text
  EXPECT_TRUE(pending["deliveries"][0]["last_error"].is_string()) << pending.dump();
  EXPECT_EQ(static_cast<int64_t>(receiver.received().size()), before);

  // Back: everything arrives, in order.
  receiver.set_answer(200);
  receiver.Start(port);
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        json p = Admin("GET", "/v1/destinations/crm/deliveries?status=pending").Json();
        return p.contains("deliveries") && p["deliveries"].empty() &&
               entered_by(receiver.received()).size() == 3;
      },
      90s))
      << Admin("GET", "/v1/destinations/crm/deliveries").body;
  const std::vector<json> got = receiver.received();
  EXPECT_EQ(receiver.bad_signatures(), 0);
  EXPECT_EQ(receiver.bad_headers(), 0);
  bool merged = false;
  for (const json& d : got) {
    if (d["type"] != "profile.merged") continue;
    merged = true;
    EXPECT_EQ(d["data"]["profile_id"], ann) << d.dump();
    EXPECT_EQ(d["data"]["reason"], "identifier") << d.dump();
    EXPECT_TRUE(d["data"]["absorbed_profile_id"].is_number_integer());
  }
  EXPECT_TRUE(merged) << json(got).dump();
  // The offer Cat redeemed, with her identifiers.
  int redeemed = 0;
  for (const json& d : got) {
    if (d["type"] != "offer.redeemed") continue;
    ++redeemed;
    EXPECT_EQ(d["data"]["offer_id"], "SPRING10") << d.dump();
    EXPECT_EQ(d["data"]["order_id"], "W-3") << d.dump();
    EXPECT_EQ(d["data"]["profile_id"], ProfileOf("email:cat@shop-mail.co.uk")) << d.dump();
    EXPECT_EQ(d["data"]["identifiers"][0]["value"], "cat@shop-mail.co.uk") << d.dump();
  }
  EXPECT_EQ(redeemed, 1) << json(got).dump();
  // Nothing twice: each id once (accepted deliveries), and no event under two ids.
  std::set<std::string> ids;
  std::set<std::string> events;
  for (const json& d : got) {
    EXPECT_TRUE(ids.insert(d["id"].get<std::string>()).second) << d.dump();
    json key = d["data"];
    key.erase("identifiers");
    // (A profile may enter, leave and enter a built-in RFM segment again: distinct events, told
    // apart by their time.)
    EXPECT_TRUE(events.insert(d["type"].get<std::string>() + d["occurred_at"].get<std::string>() +
                              key.dump())
                    .second)
        << d.dump();
  }
  // In order: the queue's order is the feeds' order (occurred_at never goes back for one
  // segment's joins here).
  json all = Admin("GET", "/v1/destinations/crm/deliveries?status=delivered&limit=1000").Json();
  ASSERT_EQ(all["deliveries"].size(), got.size()) << all.dump();
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(all["deliveries"][i]["id"], got[i]["id"]) << i;
  }
  json listed = Admin("GET", "/v1/destinations").Json();
  ASSERT_EQ(listed["destinations"].size(), 1u);
  EXPECT_EQ(listed["destinations"][0]["deliveries"]["delivered"], got.size());
  EXPECT_EQ(listed["destinations"][0]["deliveries"]["pending"], 0);
}

TEST_F(Webhooks, AnAudienceDestinationGetsItsSegmentsMembersFirstThenTheChanges) {
  ASSERT_EQ(Admin("POST", "/v1/segments", {{"id", "big"}, {"rule", "revenue_gross >= 50"}}).status,
            201);
  Order({{"email", "a1@shop-mail.co.uk"}}, "B-1", "60.00");
  Order({{"email", "a2@shop-mail.co.uk"}}, "B-2", "70.00");
  Order({{"email", "a3@shop-mail.co.uk"}}, "B-3", "5.00");
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] { return Admin("GET", "/v1/segments/big").Json().value("members", 0) == 2; }, 60s));
  Receiver receiver;
  HttpResponse r = Admin("POST", "/v1/destinations",
                         {{"id", "ads"},
                          {"url", receiver.url("/audience")},
                          {"secret", kSecret},
                          {"events", {"segment.entered", "segment.left"}},
                          {"segment", "big"}});
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return receiver.received().size() == 2; }, 60s))
      << json(receiver.received()).dump() << Admin("GET", "/v1/destinations/ads").body
      << Admin("GET", "/v1/destinations/ads/deliveries").body << fleet_.HubStats().dump();
  for (const json& d : receiver.received()) {
    EXPECT_EQ(d["type"], "segment.entered");
    EXPECT_EQ(d["data"]["backfill"], true) << d.dump();
    EXPECT_EQ(d["data"]["segment"], "big");
  }
  // Then incrementally: a3 spends more and joins.
  Order({{"email", "a3@shop-mail.co.uk"}}, "B-4", "55.00");
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return receiver.received().size() == 3; }, 60s));
  const json third = receiver.received()[2];
  EXPECT_EQ(third["type"], "segment.entered");
  EXPECT_FALSE(third["data"].contains("backfill")) << third.dump();
  const int64_t a3 = ProfileOf("email:a3@shop-mail.co.uk");
  EXPECT_EQ(third["data"]["profile_id"], a3);

  // A rights request for a3: it leaves the segment (segment.left, no identifiers any more), and
  // a destination for erasure.done hears once it is done everywhere (no device held a3).
  Receiver privacy;
  ASSERT_EQ(Admin("POST", "/v1/destinations",
                  {{"id", "dpo"}, {"url", privacy.url("/")}, {"secret", kSecret},
                   {"events", {"erasure.done"}}})
                .status,
            201);
  HttpResponse erased = Admin("POST", "/v1/privacy/erasures",
                              {{"identifier", "email:a3@shop-mail.co.uk"}});
  ASSERT_EQ(erased.status, 202) << erased.body;
  const std::string erasure_id = erased.Json()["id"];
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return privacy.received().size() == 1; }, 60s))
      << Admin("GET", "/v1/destinations/dpo/deliveries").body;
  const json done = privacy.received()[0];
  EXPECT_EQ(done["type"], "erasure.done");
  EXPECT_EQ(done["data"]["erasure_id"], erasure_id);
  EXPECT_EQ(done["data"]["profile_id"], a3);
  EXPECT_FALSE(done["data"].contains("identifiers")) << done.dump();
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return receiver.received().size() == 4; }, 60s));
  const json left = receiver.received()[3];
  EXPECT_EQ(left["type"], "segment.left");
  EXPECT_EQ(left["data"]["profile_id"], a3);
  EXPECT_EQ(left["data"]["identifiers"], json::array()) << left.dump();

  // Bad registrations name their field; the analyst role cannot see destinations.
  auto field = [&](const json& body) {
    HttpResponse bad = Admin("POST", "/v1/destinations", body);
    EXPECT_EQ(bad.status, 400) << bad.body;
    return bad.Json()["error"].value("field", "");
  };
  const json good = {{"id", "x"}, {"url", receiver.url("/")}, {"secret", kSecret},
                     {"events", {"segment.entered"}}};
  json b = good;
  b["url"] = "ftp://127.0.0.1/";
  EXPECT_EQ(field(b), "url");
  b = good;
  b["secret"] = "short";
  EXPECT_EQ(field(b), "secret");
  b = good;
  b["events"] = {"segment.entered", "order.shipped"};
  EXPECT_EQ(field(b), "events[1]");
  b = good;
  b["segment"] = "nosuch";
  EXPECT_EQ(field(b), "segment");
  b = good;
  b["events"] = {"profile.merged"};
  b["segment"] = "big";
  EXPECT_EQ(field(b), "segment");
  b = good;
  b["id"] = "Bad Id";
  EXPECT_EQ(field(b), "id");
  b = good;
  b["colour"] = "red";
  EXPECT_EQ(field(b), "colour");
  const std::string analyst = fleet_.AddToken("analyst", "ana");
  EXPECT_EQ(hub_->Get("/v1/destinations", analyst).status, 403);
  EXPECT_EQ(Admin("GET", "/v1/destinations/nosuch").status, 404);
  EXPECT_EQ(Admin("GET", "/v1/destinations/ads/deliveries?status=lost").status, 400);
  // The segment deleted: its members leave the audience.
  ASSERT_EQ(Admin("DELETE", "/v1/segments/big").status, 200);
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return receiver.received().size() == 6; }, 60s))
      << json(receiver.received()).dump();
  std::set<int64_t> gone;
  for (size_t i = 4; i < 6; ++i) {
    EXPECT_EQ(receiver.received()[i]["type"], "segment.left");
    gone.insert(receiver.received()[i]["data"]["profile_id"].get<int64_t>());
  }
  EXPECT_EQ(gone, (std::set<int64_t>{ProfileOf("email:a1@shop-mail.co.uk"),
                                     ProfileOf("email:a2@shop-mail.co.uk")}));
  EXPECT_EQ(Admin("DELETE", "/v1/destinations/ads").status, 200);
  EXPECT_EQ(Admin("GET", "/v1/destinations/ads").status, 404);
}

// fleet.alert: a till that goes away raises device_offline ([alerts] offline_minutes = 0 here),
// sent once; back again, the alert clears and "resolved" is sent once.
TEST(WebhookAlerts, ATillGoingOfflineAndBackIsRaisedThenResolvedOnce) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  ASSERT_GE(sodium_init(), 0);
  Fleet fleet;
  fleet.StartBroker();
  fleet.InitHub(/*offline_after_s=*/3);
  SetTomlKey(fleet.hub_config(), "alerts", "offline_minutes", "0");
  fleet.StartHub();
  FleetAgent& till = fleet.AddDevice("pos-1", "store-001");
  ASSERT_TRUE(fleet.StartAgent(till));
  HttpClient hub(fleet.hub_port(), 60s);
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] { return hub.Get("/v1/alerts", fleet.hub_token()).Json().value("count", -1) == 0; }, 60s));
  Receiver receiver;
  ASSERT_EQ(hub.Post("/v1/destinations",
                     json{{"id", "ops"}, {"url", receiver.url("/")}, {"secret", kSecret},
                          {"events", {"fleet.alert"}}}
                         .dump(),
                     fleet.hub_token())
                .status,
            201);
  fleet.KillAgent(till);
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return receiver.received().size() == 1; }, 60s))
      << hub.Get("/v1/alerts", fleet.hub_token()).body;
  json raised = receiver.received()[0];
  EXPECT_EQ(raised["type"], "fleet.alert");
  EXPECT_EQ(raised["data"]["state"], "raised");
  EXPECT_EQ(raised["data"]["kind"], "device_offline");
  EXPECT_EQ(raised["data"]["device_id"], "pos-1");
  EXPECT_EQ(raised["data"]["store_id"], "store-001");
  ASSERT_TRUE(fleet.StartAgent(till));
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return receiver.received().size() == 2; }, 60s))
      << hub.Get("/v1/alerts", fleet.hub_token()).body;
  json resolved = receiver.received()[1];
  EXPECT_EQ(resolved["data"]["state"], "resolved");
  EXPECT_EQ(resolved["data"]["device_id"], "pos-1");
  // Nothing more while it stays online.
  std::this_thread::sleep_for(12s);
  EXPECT_EQ(receiver.received().size(), 2u);
}

}  // namespace
}  // namespace cjd::itest
