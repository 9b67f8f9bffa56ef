// CORS for the collect endpoints (hub/collect/cors.h): origins in their normal form, what a
// source's list allows, and the preflight's answer.
#include "hub/collect/cors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cjd::hub {
namespace {

std::string Normal(std::string_view text) {
  Result<std::string> r = NormalizeOrigin(text);
  return r.ok() ? *r : "ERROR: " + r.status().message();
}

TEST(Cors, OriginsHaveOneNormalForm) {
  EXPECT_EQ(Normal("https://Shop.Test"), "https://shop.test");
  EXPECT_EQ(Normal("https://shop.test:443"), "https://shop.test");
  EXPECT_EQ(Normal("http://shop.test:80"), "http://shop.test");
  EXPECT_EQ(Normal("http://localhost:8000"), "http://localhost:8000");
  EXPECT_EQ(Normal("https://shop.test:0443"), "https://shop.test");
  EXPECT_EQ(Normal("http://[::1]:8080"), "http://[::1]:8080");
  EXPECT_EQ(Normal("*"), "*");
}

TEST(Cors, AnythingButAnOriginIsRefusedNamingTheField) {
  for (const char* bad : {"shop.test", "ftp://shop.test", "https://", "https://shop.test/",
                          "https://shop.test/path", "https://user@shop.test",
                          "https://shop.test?x=1", "https://shop.test:", "https://shop.test:99999",
                          "https://shop test", "https://shop.test:8a", "null", ""}) {
    Result<std::string> r = NormalizeOrigin(bad, "--allowed-origin");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().field(), "--allowed-origin") << bad;
  }
}

TEST(Cors, ASourceAllowsItsOriginsOnly) {
  const std::vector<std::string> list = {"https://shop.test", "http://localhost:8000"};
  EXPECT_TRUE(OriginAllowed(list, "https://shop.test"));
  EXPECT_TRUE(OriginAllowed(list, "https://SHOP.test:443"));
  EXPECT_TRUE(OriginAllowed(list, "http://localhost:8000"));
  EXPECT_FALSE(OriginAllowed(list, "http://shop.test"));          // another scheme
  EXPECT_FALSE(OriginAllowed(list, "https://shop.test.evil.test"));  // not a suffix match
  EXPECT_FALSE(OriginAllowed(list, "https://evil.test"));
  EXPECT_FALSE(OriginAllowed(list, "null"));
  EXPECT_FALSE(OriginAllowed(list, ""));
  EXPECT_FALSE(OriginAllowed({}, "https://shop.test"));
  EXPECT_TRUE(OriginAllowed({"*"}, "https://anything.test"));
}

http::Request Preflight(const std::string& method, const std::string& headers) {
  http::Request r;
  r.method = "OPTIONS";
  r.path = "/v1/batch";
  r.headers["origin"] = "https://shop.test";
  if (!method.empty()) r.headers["access-control-request-method"] = method;
  if (!headers.empty()) r.headers["access-control-request-headers"] = headers;
  return r;
}

TEST(Cors, APreflightNamesWhatMayBeSent) {
  http::Response r = PreflightResponse(Preflight("POST", "Content-Type, authorization"));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.headers["Access-Control-Allow-Origin"], "https://shop.test");
  EXPECT_EQ(r.headers["Access-Control-Allow-Methods"], "POST, OPTIONS");
  EXPECT_EQ(r.headers["Access-Control-Allow-Headers"], "content-type, authorization");
  EXPECT_EQ(r.headers["Access-Control-Max-Age"], "600");
  EXPECT_NE(r.headers["Vary"].find("Origin"), std::string::npos);

  r = PreflightResponse(Preflight("DELETE", ""));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["field"], "Access-Control-Request-Method");
  r = PreflightResponse(Preflight("POST", "content-type, x-evil"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["field"], "Access-Control-Request-Headers");
  EXPECT_NE(r.body.find("x-evil"), std::string::npos);

  http::Response refused = OriginRefused("https://evil.test");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(nlohmann::json::parse(refused.body)["error"]["field"], "Origin");
  EXPECT_EQ(refused.headers.count("Access-Control-Allow-Origin"), 0u);
}

}  // namespace
}  // namespace cjd::hub
