// What a hostile client can make the HTTP server hold: the read buffer (header, chunk-size line,
// trailer), bodies before authentication, idle connections, connections at the cap.
// 127.0.0.1, port 0; every wait bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "shared/http/server.h"
#include "shared/http/worker_pool.h"
#include "tests/shared/http/server_test_util.h"

namespace cjd::http {
namespace {

using namespace std::chrono_literals;
using namespace cjd::http::test;

constexpr auto kBound = 10s;  // how long a test waits for something that must happen

// Writes `total` bytes of `fill` in 64 KiB pieces; stops early when the server closes.
// Returns the bytes written.
size_t Flood(Client& client, size_t total, char fill) {
  const std::string piece(64 * 1024, fill);
  size_t sent = 0;
  while (sent < total && client.TryWriteRaw(piece)) sent += piece.size();
  return sent;
}

// Refuses every request without "Authorization: Bearer good" at the header stage.
std::optional<Response> NeedsToken(const Request& head) {
  if (head.BearerToken() == "good") return std::nullopt;
  return JsonError(401, "unauthorized", "missing or invalid token");
}

TEST(HttpLimits, NeverEndingChunkSizeLineIs400NotAGrowingBuffer) {
  Recorder rec;
  ServerOptions options;
  options.header_limit = 4096;
  auto server = StartServer(rec.Echo(), options);
  Client client(server->port());
  client.WriteRaw("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1");
  // 64 MiB of chunk-size digits: the server answers once its bounded buffer is full (and
  // discards the rest for a while, so that the client can read the answer).
  Flood(client, 64u << 20, '0');
  ASSERT_TRUE(client.ReadableWithin(kBound)) << "no answer: the server is still buffering";
  ClientResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(ErrorOf(res).at("message"),
            "chunk header or trailer exceeds " + std::to_string(4096 + 16 * 1024) + " bytes");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(rec.Calls(), 0);
}

TEST(HttpLimits, NeverEndingChunkExtensionIs400) {
  Recorder rec;
  auto server = StartServer(rec.Echo());
  Client client(server->port());
  client.WriteRaw("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=");
  Flood(client, 16u << 20, 'e');
  ASSERT_TRUE(client.ReadableWithin(kBound));
  EXPECT_EQ(client.Read().result_int(), 400);
  EXPECT_EQ(rec.Calls(), 0);
}

TEST(HttpLimits, NeverEndingTrailerIs400) {
  Recorder rec;
  auto server = StartServer(rec.Echo());
  Client client(server->port());
  client.WriteRaw(
      "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nok\r\n0\r\nX-Trailer: ");
  Flood(client, 16u << 20, 't');
  ASSERT_TRUE(client.ReadableWithin(kBound));
  EXPECT_EQ(client.Read().result_int(), 400);
  EXPECT_EQ(rec.Calls(), 0);
}

TEST(HttpLimits, ChunkedBodyWithinTheLimitsStillWorks) {
  Recorder rec;
  auto server = StartServer(rec.Echo());
  Client client(server->port());
  const std::string big(100 * 1024, 'b');  // one chunk larger than the read buffer
  char size[16];
  std::snprintf(size, sizeof size, "%zx", big.size());
  client.WriteRaw("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  std::string(size) + ";name=value\r\n" + big + "\r\n0\r\nX-Sum: 1\r\n\r\n");
  ClientResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "POST /x " + big);
}

TEST(HttpLimits, OversizeHeaderIs431) {
  Recorder rec;
  ServerOptions options;
  options.header_limit = 2048;
  auto server = StartServer(rec.Echo(), options);
  Client client(server->port());
  client.WriteRaw("GET / HTTP/1.1\r\nHost: h\r\nX-Long: ");
  Flood(client, 1u << 20, 'h');
  ASSERT_TRUE(client.ReadableWithin(kBound));
  ClientResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 431);
  EXPECT_EQ(ErrorOf(res).at("code"), "header_too_large");
  EXPECT_EQ(ErrorOf(res).at("message"), "request header exceeds 2048 bytes");
  EXPECT_EQ(rec.Calls(), 0);
}

TEST(HttpLimits, UnauthorizedBodyIsRefusedBeforeItIsRead) {
  Recorder rec;
  ServerOptions options;
  options.body_limit = 8u << 20;
  auto server = StartServer(rec.Echo(), options, NeedsToken);
  Client client(server->port());
  // A 4 MiB body announced, 64 KiB of it sent: the answer comes before the rest.
  client.WriteRaw("POST /v1/events HTTP/1.1\r\nHost: h\r\nContent-Length: 4194304\r\n\r\n" +
                  std::string(64 * 1024, 'x'));
  ASSERT_TRUE(client.ReadableWithin(kBound)) << "no answer before the whole body was sent";
  ClientResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 401);
  EXPECT_EQ(ErrorOf(res).at("code"), "unauthorized");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(rec.Calls(), 0);
  // The rest is drained and discarded, then the connection closes.
  Flood(client, 4u << 20, 'x');
  EXPECT_TRUE(client.ClosedWithin(kBound));
}

TEST(HttpLimits, AuthorizerPassesTheHeadAndKeepsBodilessRefusalsAlive) {
  Recorder rec;
  std::atomic<int> asked{0};
  Request seen;
  auto server = StartServer(rec.Echo(), {}, [&](const Request& head) {
    ++asked;
    seen = head;
    return NeedsToken(head);
  });
  Client client(server->port());
  ClientResponse refused = client.Get("/v1/stats?x=1", {{"Authorization", "Bearer bad"}});
  EXPECT_EQ(refused.result_int(), 401);
  EXPECT_TRUE(refused.keep_alive());  // nothing left unread: the connection stays usable
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.path, "/v1/stats");
  EXPECT_EQ(seen.query.at("x"), "1");
  EXPECT_EQ(seen.BearerToken(), "bad");
  EXPECT_EQ(seen.body, "");
  bhttp::request<bhttp::string_body> post{bhttp::verb::post, "/v1/events", 11};
  post.set(bhttp::field::authorization, "Bearer good");
  post.body() = "payload";
  ClientResponse ok = client.Send(std::move(post));
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(ok.body(), "POST /v1/events payload");
  EXPECT_EQ(asked.load(), 2);
  EXPECT_EQ(rec.Calls(), 1);
}

TEST(HttpLimits, HasBodyReadsTheFramingHeaders) {
  Request head;
  EXPECT_FALSE(HasBody(head));
  head.headers["content-length"] = "0";
  EXPECT_FALSE(HasBody(head));
  head.headers["content-length"] = "12";
  EXPECT_TRUE(HasBody(head));
  head.headers.erase("content-length");
  head.headers["transfer-encoding"] = "chunked";
  EXPECT_TRUE(HasBody(head));
}

TEST(HttpLimits, IdleKeepAliveConnectionIsClosedAfterTheHeaderTimeout) {
  Recorder rec;
  ServerOptions options;
  options.header_timeout_ms = 200;
  auto server = StartServer(rec.Echo(), options);
  Client idle(server->port());
  EXPECT_EQ(idle.Get("/").result_int(), 200);
  EXPECT_TRUE(idle.ClosedWithin(kBound));
  Client silent(server->port());  // never sends a byte
  EXPECT_TRUE(silent.ClosedWithin(kBound));
}

TEST(HttpLimits, SlowHeaderIsClosedAfterTheHeaderTimeout) {
  Recorder rec;
  ServerOptions options;
  options.header_timeout_ms = 300;
  auto server = StartServer(rec.Echo(), options);
  Client slow(server->port());
  bool open = true;
  for (int i = 0; i < 200 && open; ++i) {  // one byte every 50 ms, 10 s at most
    open = slow.TryWriteRaw("X") && !slow.ClosedWithin(50ms);
  }
  EXPECT_FALSE(open);
}

TEST(HttpLimits, NewcomerReplacesTheLongestIdleConnectionAtTheCap) {
  Recorder rec;
  ServerOptions options;
  options.max_connections = 2;
  auto server = StartServer(rec.Echo(), options);
  Client a(server->port());
  EXPECT_EQ(a.Get("/a").result_int(), 200);  // a idle first
  Client b(server->port());
  EXPECT_EQ(b.Get("/b").result_int(), 200);
  Client c(server->port());
  EXPECT_EQ(c.Get("/c").result_int(), 200);  // served: a made room
  EXPECT_TRUE(a.ClosedWithin(kBound));
  EXPECT_EQ(b.Get("/b").result_int(), 200);
  EXPECT_EQ(c.Get("/c").result_int(), 200);
}

TEST(HttpLimits, NewcomerIsRefusedWhenEveryConnectionIsMidRequest) {
  Recorder rec;
  ServerOptions options;
  options.max_connections = 2;
  auto server = StartServer(rec.Echo(), options);
  Client a(server->port());
  Client b(server->port());
  a.WriteRaw("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab");
  b.WriteRaw("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab");
  // Once a third connection is refused, a and b are both mid-body (else one would be evicted);
  // retry until then, boundedly.
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    Client c(server->port());
    refused = c.ClosedWithin(100ms);
  }
  EXPECT_TRUE(refused);
  a.WriteRaw("cd");
  b.WriteRaw("cd");
  EXPECT_EQ(a.Read().body(), "POST /a abcd");
  EXPECT_EQ(b.Read().body(), "POST /b abcd");
}

TEST(HttpLimits, ManyIdleConnectionsDoNotLockOutAClient) {
  Recorder rec;
  ServerOptions options;
  options.max_connections = 64;
  auto server = StartServer(rec.Echo(), options);
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 100; ++i) idle.push_back(std::make_unique<Client>(server->port()));
  Client late(server->port());
  EXPECT_EQ(late.Get("/late").result_int(), 200);
}

TEST(HttpLimits, SlowlorisDoesNotHoldTheOnlyThread) {
  Recorder rec;
  ServerOptions options;
  options.threads = 1;
  auto server = StartServer(rec.Echo(), options);
  Client slow(server->port());
  slow.WriteRaw("POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n");
  Client other(server->port());
  for (int i = 0; i < 20; ++i) {  // one body byte per request of the other client
    slow.WriteRaw("s");
    EXPECT_EQ(other.Get("/ok").result_int(), 200);
  }
  EXPECT_EQ(rec.Calls(), 20);
}

// A handler blocked on "the database" for one request runs on a worker: the only I/O thread keeps
// answering /healthz (inline) and reading other requests.
TEST(HttpLimits, SlowHandlerWorkDoesNotStallHealthz) {
  WorkerPool pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  ServerOptions options;
  options.threads = 1;
  auto server = StartServer(
      OffloadTo(
          &pool,
          [&](Request&& req, Responder respond) {
            if (req.path == "/slow") {
              entered.set_value();
              released.wait_for(30s);  // bounded
            }
            respond(Text("done " + req.path));
          },
          [](const Request& req) { return req.path == "/healthz"; }),
      options);
  Client slow(server->port());
  slow.WriteRaw("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(entered.get_future().wait_for(kBound), std::future_status::ready);
  Client health(server->port());
  health.WriteRaw("GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(health.ReadableWithin(kBound)) << "/healthz waited for the slow request";
  EXPECT_EQ(health.Read().body(), "done /healthz");
  release.set_value();
  EXPECT_EQ(slow.Read().body(), "done /slow");
}

TEST(HttpLimits, WorkerPoolDropsJobsAfterStop) {
  WorkerPool pool(2);
  std::atomic<int> ran{0};
  std::promise<void> done;
  pool.Post([&] {
    ++ran;
    done.set_value();
  });
  ASSERT_EQ(done.get_future().wait_for(kBound), std::future_status::ready);
  pool.Stop();
  pool.Post([&] { ++ran; });
  pool.Stop();
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace cjd::http
