// The HTTP server against a synchronous Beast client on 127.0.0.1 (port 0).
#include "shared/http/server.h"
#include "tests/shared/http/server_test_util.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cjd::http {
namespace {

using namespace std::chrono_literals;
using namespace cjd::http::test;

TEST(HttpServer, GetRoundTripKeepsTheConnectionOpen) {
  auto server = StartServer([](Request&& req, Responder respond) {
    Response r = Text("hello " + req.path);
    r.headers["X-Trace"] = "abc";
    respond(std::move(r));
  });
  Client client(server->port());
  for (int i = 0; i < 3; ++i) {
    ClientResponse res = client.Get("/world");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "hello /world");
    EXPECT_EQ(res[bhttp::field::content_type], "text/plain");
    EXPECT_EQ(res[bhttp::field::content_length], "12");
    EXPECT_EQ(res["X-Trace"], "abc");
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(res[bhttp::field::server], "");
  }
}

TEST(HttpServer, PostBodyReachesTheHandler) {
  Recorder rec;
  auto server = StartServer(rec.Echo());
  Client client(server->port());
  ClientResponse res = client.Post("/v1/events", R"({"a":1})");
  EXPECT_EQ(res.body(), R"(POST /v1/events {"a":1})");
  EXPECT_EQ(rec.Last().Header("content-type"), "");
  EXPECT_EQ(rec.Last().Header("content-length"), "7");
}

TEST(HttpServer, DecodesPathQueryAndLowerCasesHeaderNames) {
  Recorder rec;
  auto server = StartServer(rec.Echo());
  Client client(server->port());
  ClientResponse res = client.Get(
      "/a%20b/c%2Fd?x=1&name=J%C3%BCrgen+M%C3%BCller&flag&plus=%2B&x=2&&empty=",
      {{"X-Custom-Header", "v1"}, {"Accept", "text/plain"}});
  EXPECT_EQ(res.result_int(), 200);
  Request req = rec.Last();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/a b/c/d");
  EXPECT_EQ(req.query.at("x"), "1");
  EXPECT_EQ(req.query.at("name"), "J\xc3\xbcrgen M\xc3\xbcller");
  EXPECT_EQ(req.query.at("flag"), "");
  EXPECT_EQ(req.query.at("plus"), "+");
  EXPECT_EQ(req.query.at("empty"), "");
  EXPECT_EQ(req.query.size(), 5u);
  EXPECT_EQ(req.headers.at("x-custom-header"), "v1");
  EXPECT_EQ(req.Header("accept"), "text/plain");
  EXPECT_EQ(req.Header("missing"), "");
}

TEST(HttpServer, MalformedPercentEscapeIs400) {
  Recorder rec;
  auto server = StartServer(rec.Echo());
  Client client(server->port());
  ClientResponse res = client.Get("/bad%zz");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(ErrorOf(res).at("code"), "bad_request");
  EXPECT_EQ(rec.Calls(), 0);
  // The request itself was complete, so the connection stays usable.
  EXPECT_EQ(client.Get("/ok").result_int(), 200);
}

TEST(HttpServer, ExtractsTheBearerToken) {
  Recorder rec;
  auto server = StartServer(rec.Echo());
  Client client(server->port());
  client.Get("/", {{"Authorization", "bearer tok-123 "}});
  EXPECT_EQ(rec.Last().BearerToken(), "tok-123");
  client.Get("/", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  EXPECT_EQ(rec.Last().BearerToken(), "");
  client.Get("/");
  EXPECT_EQ(rec.Last().BearerToken(), "");
}

TEST(HttpRequest, BearerTokenNeedsTheBearerScheme) {
  Request req;
  EXPECT_EQ(req.BearerToken(), "");
  req.headers["authorization"] = "Bearer abc.def";
  EXPECT_EQ(req.BearerToken(), "abc.def");
  req.headers["authorization"] = "BEARER   xyz";
  EXPECT_EQ(req.BearerToken(), "xyz");
  req.headers["authorization"] = "Bearer";
  EXPECT_EQ(req.BearerToken(), "");
  req.headers["authorization"] = "Bearerabc";
  EXPECT_EQ(req.BearerToken(), "");
}

TEST(HttpServer, OversizeBodyGets413NamingTheLimitAndCloses) {
  Recorder rec;
  ServerOptions options;
  options.body_limit = 1024;
  auto server = StartServer(rec.Echo(), options);
  {
    Client client(server->port());
    ClientResponse res = client.Post("/v1/events", std::string(1024, 'a'));  // at the limit
    EXPECT_EQ(res.result_int(), 200);
  }
  Client client(server->port());
  ClientResponse res = client.Post("/v1/events", std::string(256 * 1024, 'b'));
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  nlohmann::json error = ErrorOf(res);
  EXPECT_EQ(error.at("code"), "payload_too_large");
  EXPECT_EQ(error.at("message"), "request body exceeds 1024 bytes");
  EXPECT_FALSE(error.contains("field"));
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.ReadsClosed());
  EXPECT_EQ(rec.Calls(), 1);
}

TEST(HttpServer, OversizeChunkedBodyGets413) {
  Recorder rec;
  ServerOptions options;
  options.body_limit = 100;
  auto server = StartServer(rec.Echo(), options);
  Client client(server->port());
  std::string chunk(80, 'c');
  client.WriteRaw("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n" +
                  chunk + "\r\n50\r\n" + chunk + "\r\n0\r\n\r\n");
  ClientResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_EQ(ErrorOf(res).at("message"), "request body exceeds 100 bytes");
  EXPECT_EQ(rec.Calls(), 0);
}

TEST(HttpServer, AnswersExpect100ContinueBeforeTheBody) {
  Recorder rec;
  auto server = StartServer(rec.Echo());
  Client client(server->port());
  client.WriteRaw(
      "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.Read().result_int(), 100);  // before any body byte was sent
  client.WriteRaw("hello");
  ClientResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "POST /up hello");
}

TEST(HttpServer, OversizeBodyWithExpectContinueGets413WithoutContinue) {
  Recorder rec;
  ServerOptions options;
  options.body_limit = 10;
  auto server = StartServer(rec.Echo(), options);
  Client client(server->port());
  client.WriteRaw(
      "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.Read().result_int(), 413);
}

TEST(HttpServer, GarbageGets400AndCloses) {
  Recorder rec;
  auto server = StartServer(rec.Echo());
  Client client(server->port());
  client.WriteRaw("THIS IS NOT HTTP\r\n\r\n");
  ClientResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(ErrorOf(res).at("code"), "bad_request");
  EXPECT_TRUE(client.ReadsClosed());
  EXPECT_EQ(rec.Calls(), 0);
}

TEST(HttpServer, DeferredResponderAnswersFromAnotherThread) {
  Worker worker;
  std::atomic<int> answered{0};
  auto server = StartServer([&](Request&& req, Responder respond) {
    worker.Post([&answered, path = req.path, respond] {
      std::this_thread::sleep_for(50ms);
      ++answered;
      respond(Text("late " + path));
      respond(Text("twice"));  // ignored: exactly once
    });
  });
  Client client(server->port());
  EXPECT_EQ(client.Get("/one").body(), "late /one");
  EXPECT_EQ(client.Get("/two").body(), "late /two");
  EXPECT_EQ(answered.load(), 2);
}

TEST(HttpServer, ManyConcurrentKeepAliveRequests) {
  Worker worker;
  ServerOptions options;
  options.threads = 4;
  auto server = StartServer(
      [&worker](Request&& req, Responder respond) {
        std::string body = req.query["c"] + ":" + req.query["i"];
        if (std::stoi(req.query["i"]) % 2 == 0) {
          respond(Text(std::move(body)));
        } else {
          worker.Post([respond, body] { respond(Text(body)); });
        }
      },
      options);
  constexpr int kClients = 8;
  constexpr int kRequests = 100;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      Client client(server->port());
      for (int i = 0; i < kRequests; ++i) {
        const std::string want = std::to_string(c) + ":" + std::to_string(i);
        ClientResponse res =
            client.Get("/q?c=" + std::to_string(c) + "&i=" + std::to_string(i));
        if (res.result_int() == 200 && res.body() == want && res.keep_alive()) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
}

TEST(HttpServer, HandlerExceptionBecomes500) {
  auto server = StartServer([](Request&&, Responder) { throw std::runtime_error("boom"); });
  Client client(server->port());
  ClientResponse res = client.Get("/");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(ErrorOf(res).at("code"), "internal");
}

TEST(HttpServer, DroppedResponderAnswers500AndCloses) {
  auto server = StartServer([](Request&&, Responder) {});
  Client client(server->port());
  ClientResponse res = client.Get("/");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_TRUE(client.ReadsClosed());
}

TEST(HttpServer, ClientConnectionCloseIsHonoured) {
  Recorder rec;
  auto server = StartServer(rec.Echo());
  Client client(server->port());
  ClientResponse res = client.Get("/", {{"Connection", "close"}});
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.ReadsClosed());
}

TEST(HttpServer, HeadersThatWouldBreakFramingAreDropped) {
  auto server = StartServer([](Request&&, Responder respond) {
    Response r = Text("x");
    r.headers["X-Evil"] = "a\r\nSet-Cookie: y";
    r.headers["Content-Length"] = "999";
    r.headers["X-Fine"] = "ok";
    respond(std::move(r));
  });
  Client client(server->port());
  ClientResponse res = client.Get("/");
  EXPECT_EQ(res.body(), "x");
  EXPECT_EQ(res["X-Evil"], "");
  EXPECT_EQ(res["Set-Cookie"], "");
  EXPECT_EQ(res["X-Fine"], "ok");
}

TEST(HttpServer, StopWithOpenConnectionsDoesNotHang) {
  std::mutex mu;
  std::vector<Responder> held;
  std::promise<void> got_pending;
  auto server = StartServer([&](Request&& req, Responder respond) {
    if (req.path == "/hold") {
      std::lock_guard<std::mutex> lock(mu);
      held.push_back(std::move(respond));
      got_pending.set_value();
      return;
    }
    respond(Text("ok"));
  });
  Client idle_after_request(server->port());
  EXPECT_EQ(idle_after_request.Get("/").result_int(), 200);
  Client silent(server->port());  // connected, never sends
  Client waiting(server->port());
  waiting.WriteRaw("GET /hold HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(got_pending.get_future().wait_for(10s), std::future_status::ready);

  auto stopped = std::async(std::launch::async, [&] { server->Stop(); });
  ASSERT_EQ(stopped.wait_for(10s), std::future_status::ready);
  server->Stop();  // idempotent

  EXPECT_TRUE(idle_after_request.ReadsClosed());
  EXPECT_TRUE(silent.ReadsClosed());
  EXPECT_TRUE(waiting.ReadsClosed());

  // A responder called after Stop, and after the server is gone, is harmless.
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(held.size(), 1u);
  Responder late = held[0];
  held[0](Text("too late"));
  server.reset();
  late(Text("much too late"));
}

TEST(HttpServer, ResponderDroppedAfterServerIsGoneIsHarmless) {
  Responder kept;
  std::promise<void> got;
  auto server = StartServer([&](Request&&, Responder respond) {
    kept = std::move(respond);
    got.set_value();
  });
  Client client(server->port());
  client.WriteRaw("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(got.get_future().wait_for(10s), std::future_status::ready);
  server.reset();
  kept = nullptr;  // drops the last reference after the io_context is gone
}

TEST(HttpServer, StartFailsWhenThePortIsTaken) {
  Recorder rec;
  auto first = StartServer(rec.Echo());
  ServerOptions options;
  options.listen = HostPort{"127.0.0.1", first->port()};
  Server second(options, rec.Echo());
  Status st = second.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kIo);
  const std::string want = "cannot listen on 127.0.0.1:" + std::to_string(first->port()) + ": ";
  EXPECT_EQ(st.message().rfind(want, 0), 0u) << st.message();
}

TEST(HttpServer, StopWithoutStartIsFine) {
  Recorder rec;
  Server server(ServerOptions{}, rec.Echo());
  server.Stop();
  server.Stop();
}

TEST(HttpServer, ListensOnLocalhostByName) {
  Recorder rec;
  ServerOptions options;
  options.listen = HostPort{"localhost", 0};
  Server server(options, rec.Echo());
  ASSERT_TRUE(server.Start().ok());
  EXPECT_NE(server.port(), 0);
}

TEST(HttpResponse, JsonErrorOmitsEmptyField) {
  Response r = JsonError(400, "invalid", "bad amount", "[0].amount");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body),
            nlohmann::json::parse(
                R"({"error":{"code":"invalid","message":"bad amount","field":"[0].amount"}})"));
  r = JsonError(404, "not_found", "no such thing");
  EXPECT_EQ(r.body, R"({"error":{"code":"not_found","message":"no such thing"}})");
  r = JsonError(400, "invalid", "bad byte \xff here");  // invalid UTF-8 does not throw
  EXPECT_NE(r.body.find("bad byte"), std::string::npos);
}

TEST(HttpResponse, ErrorFromStatusMapsCodes) {
  struct Case {
    Status status;
    int http;
    std::string code;
  };
  const std::vector<Case> cases = {
      {Status::Invalid("m", "f"), 400, "invalid"},
      {Status(Code::kUnauthorized, "m"), 401, "unauthorized"},
      {Status::NotFound("m"), 404, "not_found"},
      {Status(Code::kConflict, "m"), 409, "conflict"},
      {Status(Code::kTooLarge, "m"), 413, "payload_too_large"},
      {Status(Code::kUnavailable, "m"), 503, "unavailable"},
      {Status(Code::kFull, "m"), 507, "insufficient_storage"},
      {Status::Io("m"), 500, "internal"},
      {Status::Crypto("m"), 500, "internal"},
      {Status::Internal("m"), 500, "internal"},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.code);
    Response r = ErrorFromStatus(tc.status);
    EXPECT_EQ(r.status, tc.http);
    auto error = nlohmann::json::parse(r.body).at("error");
    EXPECT_EQ(error.at("code"), tc.code);
    EXPECT_EQ(error.at("message"), "m");
  }
  auto field = nlohmann::json::parse(ErrorFromStatus(Status::Invalid("m", "a.b")).body);
  EXPECT_EQ(field["error"]["field"], "a.b");
}

}  // namespace
}  // namespace cjd::http
