// The shared HttpClient against the project's own server on 127.0.0.1 (port 0), and its URL
// helpers.
#include "shared/http/client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "shared/http/server.h"
#include "tests/support/ports.h"

namespace cjd::http {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Server> StartEcho(uint16_t port = 0) {
  ServerOptions options;
  options.listen = HostPort{"127.0.0.1", port};
  auto server = std::make_unique<Server>(options, [](Request&& req, Responder respond) {
    Response r;
    r.body = nlohmann::json{{"method", req.method},
                            {"path", req.path},
                            {"body", req.body},
                            {"auth", req.Header("authorization")},
                            {"agent", req.Header("user-agent")}}
                 .dump();
    r.headers["X-Echo"] = "1";
    if (req.path == "/missing") r.status = 404;
    respond(std::move(r));
  });
  Status st = server->Start();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return server;
}

TEST(HttpClient, SendsManyRequestsOverOneKeepAliveConnection) {
  auto server = StartEcho();
  HttpClient client("127.0.0.1", server->port());
  client.set_user_agent("client-test");
  for (int i = 0; i < 5; ++i) {
    auto r = client.Post("/p/" + std::to_string(i), R"({"i":)" + std::to_string(i) + "}", "k");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["path"], "/p/" + std::to_string(i));
    EXPECT_EQ(r.Json()["auth"], "Bearer k");
    EXPECT_EQ(r.Json()["agent"], "client-test");
    EXPECT_EQ(r.headers["x-echo"], "1");
  }
  EXPECT_EQ(client.Get("/missing").status, 404);
  EXPECT_EQ(client.Get("/x").Json()["auth"], "");
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST(HttpClient, ReconnectsWhenTheServerWentAwayBetweenRequests) {
  auto server = StartEcho();
  const uint16_t port = server->port();
  HttpClient client("127.0.0.1", port);
  ASSERT_EQ(client.Get("/a").status, 200);
  server->Stop();
  server = StartEcho(port);  // same port, the old keep-alive connection is dead
  auto r = client.Get("/b");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["path"], "/b");
  EXPECT_EQ(client.connections_opened(), 2);
}

TEST(HttpClient, ResolvesAHostName) {
  auto server = StartEcho();
  HttpClient client("localhost", server->port(), 5s);
  auto r = client.Get("/named");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["path"], "/named");
}

TEST(HttpClient, ConnectionRefusedIsStatusZeroNamingTheAddress) {
  const uint16_t port = cjd::testing::FreeLoopbackPort();
  HttpClient client("127.0.0.1", port, 2s);
  auto r = client.Get("/");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.body.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("refused"), std::string::npos) << r.body;
}

TEST(HttpUrl, ParsesHostPortAndPrefix) {
  auto u = ParseHttpUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->prefix, "");
  u = ParseHttpUrl("HTTP://hub.example:9000/cjd/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "hub.example");
  EXPECT_EQ(u->prefix, "/cjd");
  u = ParseHttpUrl("http://[::1]:81");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->ToString(), "http://[::1]:81");
  EXPECT_EQ(ParseHttpUrl("http://h")->port, 80);
  EXPECT_FALSE(ParseHttpUrl("http://h")->tls);
  // https: TLS, port 443 unless given (the client verifies the certificate: https_test).
  u = ParseHttpUrl("https://hub.example");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(ParseHttpUrl("HTTPS://h:8443/x")->port, 8443);
  EXPECT_EQ(ParseHttpUrl("https://h:8443/x")->ToString(), "https://h:8443/x");
}

TEST(HttpUrl, RejectsWhatItCannotServe) {
  for (const char* bad : {"", "127.0.0.1:8080", "https://", "ftp://h", "http://", "http://h:",
                          "http://h:0", "http://h:70000", "http://h:8x", "http://u@h:1",
                          "http://h:1/a?b=c", "http://h h:1"}) {
    EXPECT_FALSE(ParseHttpUrl(bad).ok()) << bad;
  }
  EXPECT_NE(ParseHttpUrl("ftp://h").status().message().find("https://"), std::string::npos);
}

TEST(UrlEncode, KeepsUnreservedAndEscapesTheRest) {
  EXPECT_EQ(UrlEncode("2011-01"), "2011-01");
  EXPECT_EQ(UrlEncode("store 42&x=é"), "store%2042%26x%3D%C3%A9");
}

}  // namespace
}  // namespace cjd::http
