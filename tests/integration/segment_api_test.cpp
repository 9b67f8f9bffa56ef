// The Segment-compatible tracking API (issue 16) against a real hub: calls shaped as Segment's
// HTTP Tracking API documents them (and as its SDKs send them: HTTP Basic with the write key as
// user name, gzip, batches with sentAt), read back through our own API -- the profile with its
// mapped traits, the order with exact revenue, the funnel steps, the clock correction, the
// idempotency by messageId -- and the errors: lenient batches, 400 naming the field for a
// single call, 401 without a source key.
#include <gtest/gtest.h>
#include <sodium.h>
#include <zlib.h>

#include <string>
#include <thread>

#include "shared/event/event.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;

std::string Base64(const std::string& s) {
  std::string out(sodium_base64_encoded_len(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string Gzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                         Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

class SegmentApi : public ::testing::Test {
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

  // As analytics-node sends it: Basic base64("KEY:").
  HttpResponse Call(const std::string& kind, const json& body, bool gzip = false,
                    std::string key = "") {
    if (key.empty()) key = key_;
    HttpClient::Headers headers = {{"Authorization", "Basic " + Base64(key + ":")},
                                   {"Content-Type", "application/json"}};
    std::string payload = body.dump();
    if (gzip) {
      payload = Gzip(payload);
      headers["Content-Encoding"] = "gzip";
    }
    return hub_->Request("POST", "/v1/" + kind, payload, headers);
  }
  json Admin(const std::string& path) { return hub_->Get(path, fleet_.hub_token()).Json(); }

  Fleet fleet_;
  std::string key_;
  std::unique_ptr<HttpClient> hub_;
};

TEST_F(SegmentApi, CallsMapToProfilesOrdersAndFunnelStepsAndBadOnesNameTheirField) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  // identify: traits to attributes (matching fields too), email as an identifier; the client's
  // clock is an hour behind (sentAt), so the hub moves the timestamp by that hour.
  HttpResponse r = Call("identify",
                        {{"userId", "u-1"},
                         {"anonymousId", "anon-1"},
                         {"messageId", "msg-identify-1"},
                         {"timestamp", "2026-01-01T00:00:00.000Z"},
                         {"sentAt", FormatRfc3339(now - 3'600'000)},
                         {"traits",
                          {{"email", "Ann.Lee@shop-mail.co.uk"},
                           {"firstName", "Ann"},
                           {"lastName", "Lee"},
                           {"plan", "gold"},
                           {"address", {{"city", "Leeds"}, {"postalCode", "LS1 4AP"}}}}},
                         {"integrations", {{"All", true}}},
                         {"context", {{"ip", "127.0.0.1"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["success"], true);
  // page (Bearer works too), then the e-commerce spec's Order Completed with exact money.
  ASSERT_EQ(hub_->Post("/v1/page",
                       json{{"anonymousId", "anon-1"},
                            {"name", "Home"},
                            {"properties", {{"url", "https://shop.test/"}}},
                            {"timestamp", "2026-01-01T00:05:00Z"}}
                           .dump(),
                       key_)
                .status,
            200);
  const json order = {{"userId", "u-1"},
                      {"event", "Order Completed"},
                      {"messageId", "msg-order-1"},
                      {"timestamp", "2026-01-01T00:10:00Z"},
                      {"properties",
                       {{"order_id", "O-1"},
                        {"currency", "eur"},
                        {"revenue", 44.98},
                        {"products",
                         {{{"product_id", "p1"}, {"price", 19.99}, {"quantity", 2}, {"name", "Mug"}},
                          {{"sku", "s2"}, {"price", "5.00"}, {"category", "tea"}}}}}}};
  ASSERT_EQ(Call("track", order).status, 200);
  // Sent again (a retry): stored once.
  r = Call("track", order, /*gzip=*/true);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["duplicates"], 1);

  // A segment of the persons who did a custom event, made before they do it.
  ASSERT_EQ(hub_->Post("/v1/segments",
                       json{{"id", "signed_up"}, {"rule", "tracked_events contains \"Signed Up\""}}
                           .dump(),
                       fleet_.hub_token())
                .status,
            201);
  // A batch, gzip: good calls stored (one a custom event), two bad ones reported and skipped.
  r = Call("batch",
           {{"batch",
             {{{"type", "track"}, {"userId", "u-2"}, {"event", "Product Added"},
               {"properties", {{"product_id", "p1"}}}, {"timestamp", "2026-01-02T00:00:00Z"}},
              {{"type", "track"}, {"event", "Product Added"}},
              {{"type", "track"}, {"userId", "u-2"}, {"event", "Signed Up"},
               {"properties", {{"plan", "trial"}}}, {"timestamp", "2026-01-02T00:00:30Z"}},
              {{"type", "track"}, {"userId", "u-2"}, {"event", "Order Completed"},
               {"properties", {{"order_id", "O-2"}, {"total", "12.50"}}},
               {"timestamp", "2026-01-02T00:01:00Z"}}}},
            {"sentAt", FormatRfc3339(now)},
            {"context", {{"library", {{"name", "analytics-node"}}}}}},
           /*gzip=*/true);
  ASSERT_EQ(r.status, 200) << r.body;
  const json b = r.Json();
  EXPECT_EQ(b["accepted"], 3);
  ASSERT_EQ(b["errors"].size(), 1u) << b.dump();
  EXPECT_EQ(b["errors"][0]["index"], 1);
  EXPECT_EQ(b["errors"][0]["field"], "batch[1].userId");

  ASSERT_TRUE(fleet_.WaitHubEventsTotal(6)) << fleet_.Diagnostics();
  json profile;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        profile = Admin("/v1/profiles?identifier=customer_id:u-1");
        return profile.contains("traits") && profile["traits"]["orders"] == 1 &&
               profile["events"].size() == 3;
      },
      30s))
      << profile.dump();
  EXPECT_EQ(Admin("/v1/profiles?identifier=email:ann.lee@shop-mail.co.uk")["profile_id"],
            profile["profile_id"]);
  EXPECT_EQ(Admin("/v1/profiles?identifier=anonymous_id:anon-1")["profile_id"],
            profile["profile_id"]);
  const json& a = profile["attributes"];
  EXPECT_EQ(a["first_name"], "Ann");
  EXPECT_EQ(a["last_name"], "Lee");
  EXPECT_EQ(a["city"], "Leeds");
  EXPECT_EQ(a["postcode"], "LS1 4AP");
  EXPECT_EQ(a["plan"], "gold");
  EXPECT_EQ(profile["traits"]["revenue_gross"], "44.98");
  EXPECT_EQ(profile["traits"]["currency"], "EUR");
  // The identify's time: 2026-01-01T00:00:00Z plus the client's hour of skew (within 5 s).
  for (const json& ev : profile["events"]) {
    if (ev["event"]["type"] != "identify") continue;
    auto ms = ParseRfc3339(ev["event"]["occurred_at"].get<std::string>());
    ASSERT_TRUE(ms.ok());
    EXPECT_NEAR(static_cast<double>(*ms),
                static_cast<double>(*ParseRfc3339("2026-01-01T01:00:00Z")), 5000.0);
    EXPECT_EQ(ev["event"]["event_id"], "msg-identify-1");
  }
  const json u2 = Admin("/v1/profiles?identifier=customer_id:u-2");
  EXPECT_EQ(u2["traits"]["revenue_gross"], "12.50");
  EXPECT_EQ(u2["traits"]["currency"], "USD");  // Segment's default currency

  // The funnel sees the mapped types.
  json funnel;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        funnel = hub_->Post("/v1/funnels/query",
                            json{{"steps", {{{"type", "add_to_cart"}}, {{"type", "order_completed"}}}}}
                                .dump(),
                            fleet_.hub_token())
                     .Json();
        return funnel.contains("steps") && funnel["steps"][1]["count"] == 1;
      },
      30s))
      << funnel.dump();
  EXPECT_EQ(funnel["steps"][0]["count"], 1);

  // The custom event: a `track` event with its name and properties, a funnel step by name, and
  // the segment's member.
  const int64_t u2_id = u2["profile_id"].get<int64_t>();
  bool custom_seen = false;
  for (const json& ev : u2["events"]) {
    if (ev["event"]["type"] != "track") continue;
    custom_seen = true;
    EXPECT_EQ(ev["event"]["name"], "Signed Up");
    EXPECT_EQ(ev["event"]["properties"]["plan"], "trial");
    EXPECT_FALSE(ev["event"]["properties"].contains("event"));
  }
  EXPECT_TRUE(custom_seen) << u2.dump();
  funnel = hub_->Post("/v1/funnels/query",
                      json{{"steps",
                            {{{"type", "add_to_cart"}},
                             {{"type", "track"}, {"name", "Signed Up"}},
                             {{"type", "order_completed"}}}}}
                          .dump(),
                      fleet_.hub_token())
               .Json();
  ASSERT_TRUE(funnel.contains("steps")) << funnel.dump();
  EXPECT_EQ(funnel["steps"][1]["count"], 1) << funnel.dump();
  EXPECT_EQ(funnel["steps"][2]["count"], 1) << funnel.dump();
  // Another name does not match; a name on another type is refused, naming the field.
  funnel = hub_->Post("/v1/funnels/query",
                      json{{"steps", {{{"type", "add_to_cart"}}, {{"type", "track"}, {"name", "Other"}}}}}
                          .dump(),
                      fleet_.hub_token())
               .Json();
  EXPECT_EQ(funnel["steps"][1]["count"], 0) << funnel.dump();
  r = hub_->Post("/v1/funnels/query",
                 json{{"steps", {{{"type", "add_to_cart"}, {"name", "Signed Up"}}}}}.dump(),
                 fleet_.hub_token());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json()["error"]["field"], "steps[0].name") << r.body;
  // On other steps, where.name is still the property "name" (the page call's name).
  funnel = hub_->Post("/v1/funnels/query",
                      json{{"steps", {{{"type", "page_view"}, {"where", {{"name", "Home"}}}}}}}.dump(),
                      fleet_.hub_token())
               .Json();
  EXPECT_EQ(funnel["steps"][0]["count"], 1) << funnel.dump();
  // A custom event's name is at most 128 characters, named as Segment names it.
  r = Call("track", {{"userId", "u-9"}, {"event", std::string(129, 'e')}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json()["error"]["field"], "event") << r.body;
  json members;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        members = hub_->Get("/v1/segments/signed_up/members", fleet_.hub_token()).Json();
        return members.contains("members") && members["members"].size() == 1;
      },
      30s))
      << members.dump();
  EXPECT_EQ(members["members"][0]["profile_id"], u2_id);

  // Errors: a single call names its field; unreadable bodies are 400; keys are required.
  r = Call("track", {{"userId", "u-3"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json()["error"]["field"], "event") << r.body;
  r = Call("identify", {{"traits", {{"firstName", "X"}}}});
  EXPECT_EQ(r.Json()["error"]["field"], "userId") << r.body;
  r = hub_->Request("POST", "/v1/batch", "{not json",
                    {{"Authorization", "Basic " + Base64(key_ + ":")}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json()["error"]["field"], "body");
  r = hub_->Request("POST", "/v1/track", "not gzip",
                    {{"Authorization", "Basic " + Base64(key_ + ":")}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Call("track", order, false, "cjds_not-a-key").status, 401);
  EXPECT_EQ(hub_->Request("POST", "/v1/track", order.dump(), {}).status, 401);
  // A browser beacon: text/plain with the write key in the body.
  json beacon = {{"writeKey", key_}, {"anonymousId", "anon-9"}, {"name", "Landing"}};
  r = hub_->Request("POST", "/v1/page", beacon.dump(), {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(hub_->Get("/v1/track").status, 405);
}

// Browsers (analytics.js): CORS with allowed origins per source -- the preflight, text/plain
// beacons with the write key in the body, answers readable by the allowed origin only, and an
// origin the source does not name refused before anything is stored.
TEST_F(SegmentApi, BrowsersPostOnlyFromTheOriginsTheirSourceAllows) {
  const std::string browser_key = fleet_.AddSource(
      "browser", {"--allowed-origin", "https://Shop.Test:443", "--allowed-origin",
                  "http://localhost:8000"});
  auto preflight = [&](const std::string& origin, const std::string& path = "/v1/batch") {
    return hub_->Request("OPTIONS", path, "",
                         {{"Origin", origin},
                          {"Access-Control-Request-Method", "POST"},
                          {"Access-Control-Request-Headers", "content-type,authorization"}});
  };
  HttpResponse r = preflight("https://shop.test");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.headers["Access-Control-Allow-Origin"], "https://shop.test");
  EXPECT_EQ(r.headers["Access-Control-Allow-Methods"], "POST, OPTIONS");
  EXPECT_EQ(r.headers["Access-Control-Allow-Headers"], "content-type, authorization");
  EXPECT_EQ(preflight("http://localhost:8000", "/v1/collect").status, 204);
  r = preflight("https://evil.test");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.Json()["error"]["field"], "Origin") << r.body;
  EXPECT_EQ(r.headers.count("Access-Control-Allow-Origin"), 0u);

  // analytics.js' beacon: text/plain, the key in the body, from the shop's page.
  const json page = {{"writeKey", browser_key},
                     {"anonymousId", "anon-browser-1"},
                     {"name", "Home"},
                     {"properties", {{"url", "https://shop.test/"}}}};
  r = hub_->Request("POST", "/v1/page", page.dump(),
                    {{"Content-Type", "text/plain"}, {"Origin", "https://shop.test"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["Access-Control-Allow-Origin"], "https://shop.test");
  EXPECT_EQ(r.headers["Vary"], "Origin");
  ASSERT_TRUE(fleet_.WaitHubEventsTotal(1)) << fleet_.Diagnostics();
  // With the key in a header (Basic), from the other allowed origin.
  r = hub_->Request("POST", "/v1/track",
                    json{{"anonymousId", "anon-browser-1"}, {"event", "Video Played"}}.dump(),
                    {{"Authorization", "Basic " + Base64(browser_key + ":")},
                     {"Content-Type", "application/json"},
                     {"Origin", "http://localhost:8000"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["Access-Control-Allow-Origin"], "http://localhost:8000");
  ASSERT_TRUE(fleet_.WaitHubEventsTotal(2)) << fleet_.Diagnostics();

  // Another site with the same key, in a header or in the body; a source that names no origin
  // (webshop): refused, nothing stored.
  r = hub_->Request("POST", "/v1/page", page.dump(),
                    {{"Content-Type", "text/plain"}, {"Origin", "https://evil.test"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.Json()["error"]["field"], "Origin");
  r = hub_->Request("POST", "/v1/track",
                    json{{"anonymousId", "a"}, {"event", "X"}}.dump(),
                    {{"Authorization", "Basic " + Base64(browser_key + ":")},
                     {"Content-Type", "application/json"},
                     {"Origin", "https://evil.test"}});
  EXPECT_EQ(r.status, 403) << r.body;
  r = hub_->Request("POST", "/v1/collect",
                    json{{"type", "page_view"}, {"occurred_at", "2026-01-01T00:00:00Z"}}.dump(),
                    {{"Authorization", "Bearer " + key_},
                     {"Content-Type", "application/json"},
                     {"Origin", "https://shop.test"}});
  EXPECT_EQ(r.status, 403) << r.body;
  // Without an Origin (a server, the Node SDK) the webshop source posts as before.
  r = hub_->Request("POST", "/v1/collect",
                    json{{"type", "page_view"}, {"occurred_at", "2026-01-01T00:00:00Z"}}.dump(),
                    {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(fleet_.WaitHubEventsTotal(3)) << fleet_.Diagnostics();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(fleet_.HubStats()["events_total"], 3);

  // cjdctl source-origins: webshop now allows its site; the running hub follows at once.
  std::string out;
  ASSERT_EQ(Fleet::Cjdctl({"source-origins", "--hub-dir", fleet_.hub_dir().string(), "--name",
                           "webshop", "--allowed-origin", "https://www.shop.test"},
                          &out),
            0)
      << out;
  EXPECT_NE(out.find("https://www.shop.test"), std::string::npos) << out;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        r = hub_->Request(
            "POST", "/v1/collect",
            json{{"type", "page_view"}, {"occurred_at", "2026-01-01T00:00:01Z"}}.dump(),
            {{"Authorization", "Bearer " + key_},
             {"Content-Type", "application/json"},
             {"Origin", "https://www.shop.test"}});
        return r.status == 202;
      },
      10s))
      << r.status << " " << r.body;
  EXPECT_EQ(r.headers["Access-Control-Allow-Origin"], "https://www.shop.test");
  // Bad input to cjdctl names the problem and exits non-zero.
  EXPECT_NE(Fleet::Cjdctl({"source-origins", "--hub-dir", fleet_.hub_dir().string(), "--name",
                           "webshop", "--allowed-origin", "https://shop.test/path"},
                          &out),
            0);
  EXPECT_NE(out.find("--allowed-origin"), std::string::npos) << out;
  EXPECT_NE(Fleet::Cjdctl({"source-origins", "--hub-dir", fleet_.hub_dir().string(), "--name",
                           "nosuch"},
                          &out),
            0);
  EXPECT_NE(out.find("nosuch"), std::string::npos) << out;
}

}  // namespace
}  // namespace cjd::itest
