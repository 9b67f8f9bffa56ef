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

  // A batch, gzip: one good call, two bad ones reported and skipped.
  r = Call("batch",
           {{"batch",
             {{{"type", "track"}, {"userId", "u-2"}, {"event", "Product Added"},
               {"properties", {{"product_id", "p1"}}}, {"timestamp", "2026-01-02T00:00:00Z"}},
              {{"type", "track"}, {"event", "Product Added"}},
              {{"type", "track"}, {"userId", "u-2"}, {"event", "Signed Up"}},
              {{"type", "track"}, {"userId", "u-2"}, {"event", "Order Completed"},
               {"properties", {{"order_id", "O-2"}, {"total", "12.50"}}},
               {"timestamp", "2026-01-02T00:01:00Z"}}}},
            {"sentAt", FormatRfc3339(now)},
            {"context", {{"library", {{"name", "analytics-node"}}}}}},
           /*gzip=*/true);
  ASSERT_EQ(r.status, 200) << r.body;
  const json b = r.Json();
  EXPECT_EQ(b["accepted"], 2);
  ASSERT_EQ(b["errors"].size(), 2u) << b.dump();
  EXPECT_EQ(b["errors"][0]["index"], 1);
  EXPECT_EQ(b["errors"][0]["field"], "batch[1].userId");
  EXPECT_EQ(b["errors"][1]["field"], "batch[2].event");

  ASSERT_TRUE(fleet_.WaitHubEventsTotal(5)) << fleet_.Diagnostics();
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

}  // namespace
}  // namespace cjd::itest
