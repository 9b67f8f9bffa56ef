// Tests of the integration-test support library itself: real processes, a real Mosquitto, a
// tiny Beast server on a loopback port.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/binaries.h"
#include "tests/support/http_client.h"
#include "tests/support/mosquitto.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace cjd::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

TEST(TempDir, CreatesADirectoryAndRemovesItWithItsContents) {
  std::filesystem::path kept;
  {
    TempDir dir;
    kept = dir.path();
    ASSERT_TRUE(std::filesystem::is_directory(kept));
    std::filesystem::create_directories(dir.Join("a/b"));
    std::ofstream(dir.Join("a/b/file.txt")) << "x";
    EXPECT_EQ(dir.Join("x"), kept / "x");
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

TEST(TempDir, MovedFromDirectoryDoesNotDeleteAnything) {
  TempDir a;
  const auto path = a.path();
  TempDir b(std::move(a));
  EXPECT_EQ(b.path(), path);
  EXPECT_TRUE(std::filesystem::is_directory(path));
}

TEST(Ports, FreeLoopbackPortsAreDistinctAndUnused) {
  const uint16_t a = FreeLoopbackPort();
  const uint16_t b = FreeLoopbackPort();
  EXPECT_NE(a, 0);
  EXPECT_NE(a, b);
  EXPECT_TRUE(LoopbackPortBindable(a));
  EXPECT_FALSE(WaitForPort(a, 100ms));
}

TEST(Ports, WaitForPortSeesAListener) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  EXPECT_TRUE(WaitForPort(port, 2s));
  EXPECT_FALSE(LoopbackPortBindable(port));
}

TEST(Wait, ReturnsTrueOnceThePredicateHoldsAndFalseAtTheDeadline) {
  int calls = 0;
  EXPECT_TRUE(WaitUntil([&] { return ++calls >= 3; }, 5s, 1ms));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(WaitUntil([] { return false; }, 30ms, 5ms));
}

TEST(Process, StartsAndTerminatesASleeper) {
  TempDir dir;
  Process p = Process::Start({"/bin/sleep", "30"}, dir.Join("sleep.log"));
  EXPECT_GT(p.pid(), 0);
  EXPECT_TRUE(p.Running());
  EXPECT_FALSE(p.WaitExit(50ms).has_value());
  auto status = p.Terminate(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 128 + SIGTERM);
  EXPECT_FALSE(p.Running());
  EXPECT_FALSE(p.Signal(SIGTERM));  // reaped: never signals a recycled pid
}

TEST(Process, Kill9StopsAProcessThatIgnoresSigterm) {
  TempDir dir;
  Process p = Process::Start({"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 30 & wait"},
                             dir.Join("sh.log"));
  ASSERT_TRUE(WaitUntil([&] { return p.LogTail().find("ready") != std::string::npos; }, 5s));
  EXPECT_FALSE(p.Terminate(200ms).has_value());  // had to be killed: a failed graceful stop
  EXPECT_FALSE(p.Running());

  Process q = Process::Start({"sleep", "30"}, {});  // found in PATH, output discarded
  auto status = q.Kill9();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 128 + SIGKILL);
}

TEST(Process, ReportsExitCodeEnvironmentAndAppendsToTheLog) {
  TempDir dir;
  const auto log = dir.Join("out.log");
  std::ofstream(log) << "before\n";
  Process p = Process::Start({"/bin/sh", "-c", "echo \"$CJD_X\"; echo err >&2; exit 3"}, log,
                             {{"CJD_X", "hello"}});
  EXPECT_EQ(p.WaitExit(5s), std::optional<int>(3));
  EXPECT_EQ(ReadFile(log), "before\nhello\nerr\n");
}

TEST(Process, ThrowsWhenTheProgramCannotBeExecuted) {
  EXPECT_THROW(Process::Start({"/nonexistent/program"}, {}), std::runtime_error);
  EXPECT_THROW(Process::Start({"cjd-no-such-program-in-path"}, {}), std::runtime_error);
}

TEST(Process, MoveTransfersOwnershipAndDestructorKills) {
  pid_t pid;
  {
    Process a = Process::Start({"/bin/sleep", "30"}, {});
    pid = a.pid();
    Process b = std::move(a);
    EXPECT_EQ(a.pid(), -1);
    EXPECT_EQ(b.pid(), pid);
    EXPECT_TRUE(b.Running());
  }
  EXPECT_NE(::kill(pid, 0), 0);  // gone and reaped
}

TEST(RunCommand, CapturesStdoutAndStderr) {
  std::string out;
  EXPECT_EQ(RunCommand({"/bin/echo", "hello", "world"}, 5s, &out), 0);
  EXPECT_EQ(out, "hello world\n");
  EXPECT_EQ(RunCommand({"/bin/sh", "-c", "echo a; echo b >&2; exit 7"}, 5s, &out), 7);
  EXPECT_EQ(out, "a\nb\n");
}

TEST(RunCommand, KillsACommandThatOverrunsItsTimeout) {
  std::string out;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RunCommand({"/bin/sleep", "30"}, 200ms, &out), -1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(RunCommand({"/nonexistent/program"}, 1s, &out), -1);
  EXPECT_NE(out.find("cannot execute"), std::string::npos) << out;
}

class MosquittoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  }
};

TEST_F(MosquittoTest, StartsOnAFreePortStopsAndRestartsOnTheSamePort) {
  TempDir dir;
  Mosquitto broker = Mosquitto::Start(dir.path());
  const uint16_t port = broker.port();
  EXPECT_NE(port, 0);
  EXPECT_EQ(broker.Uri(), "tcp://127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(broker.Running());
  EXPECT_TRUE(WaitForPort(port, 2s)) << broker.Diagnostics();
  const std::string conf = ReadFile(broker.config_path());
  EXPECT_NE(conf.find("listener " + std::to_string(port) + " 127.0.0.1"), std::string::npos);

  EXPECT_EQ(broker.Stop(), std::optional<int>(0)) << broker.Diagnostics();
  EXPECT_FALSE(broker.Running());
  EXPECT_FALSE(WaitForPort(port, 100ms));

  broker.Restart();
  EXPECT_EQ(broker.port(), port);
  EXPECT_TRUE(broker.Running());
  EXPECT_TRUE(WaitForPort(port, 2s));
}

TEST_F(MosquittoTest, RestartsAfterAKillAndWhileRunning) {
  TempDir dir;
  Mosquitto broker = Mosquitto::Start(dir.path());
  const uint16_t port = broker.port();
  broker.Kill();
  EXPECT_FALSE(broker.Running());
  broker.Restart();
  EXPECT_TRUE(WaitForPort(port, 2s));
  broker.Restart();  // from running
  EXPECT_TRUE(broker.Running());
  EXPECT_TRUE(WaitForPort(port, 2s));
}

TEST_F(MosquittoTest, StartFailsClearlyWhenThePortIsTaken) {
  asio::io_context ioc;
  tcp::acceptor taken(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  // Something else listens there: the broker must not claim success (waits the full 10 s).
  TempDir dir;
  try {
    Mosquitto clash = Mosquitto::Start(dir.path(), taken.local_endpoint().port());
    FAIL() << "claimed a port another socket listens on";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
}

// A tiny keep-alive HTTP server on a loopback port: answers every request with a JSON echo of
// it. With `close_silently`, closes the connection after each response without saying so (no
// "Connection: close"), as an idle keep-alive timeout on the server would.
class EchoServer {
 public:
  explicit EchoServer(bool close_silently) : close_silently_(close_silently) {
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~EchoServer() {
    ioc_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_.load(); }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(tcp::socket s, bool close) : socket(std::move(s)), close_silently(close) {}
    void Read() {
      request = {};
      http::async_read(socket, buffer, request,
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return;
                         self->Respond();
                       });
    }
    void Respond() {
      nlohmann::json echo = {{"method", std::string(request.method_string())},
                             {"target", std::string(request.target())},
                             {"body", request.body()},
                             {"auth", std::string(request[http::field::authorization])}};
      response = {};
      response.result(request.target() == "/missing" ? http::status::not_found : http::status::ok);
      response.version(11);
      response.set(http::field::content_type, "application/json");
      response.set("X-Echo", "1");
      response.keep_alive(request.keep_alive());
      response.body() = echo.dump();
      response.prepare_payload();
      http::async_write(socket, response, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return;
        if (self->close_silently) {
          beast::error_code ignored;
          self->socket.shutdown(tcp::socket::shutdown_both, ignored);
          self->socket.close(ignored);
          return;
        }
        self->Read();
      });
    }
    tcp::socket socket;
    bool close_silently;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
  };

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      ++connections_;
      std::make_shared<Session>(std::move(socket), close_silently_)->Read();
      Accept();
    });
  }

  bool close_silently_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

TEST(HttpClient, SendsRequestsOverOneKeepAliveConnection) {
  EchoServer server(/*close_silently=*/false);
  HttpClient client(server.port());
  auto r = client.Get("/a?x=1", "tok");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["target"], "/a?x=1");
  EXPECT_EQ(r.Json()["auth"], "Bearer tok");
  EXPECT_EQ(r.headers["x-echo"], "1");
  EXPECT_EQ(r.headers["Content-Type"], "application/json");

  r = client.Post("/b", R"({"k":1})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["method"], "POST");
  EXPECT_EQ(r.Json()["body"], R"({"k":1})");
  EXPECT_EQ(r.Json()["auth"], "");

  EXPECT_EQ(client.Get("/missing").status, 404);
  EXPECT_EQ(client.Request("DELETE", "/c").Json()["method"], "DELETE");
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClient, ReconnectsWhenTheServerClosedTheConnection) {
  EchoServer server(/*close_silently=*/true);
  HttpClient client("127.0.0.1", server.port());
  for (int i = 0; i < 3; ++i) {
    auto r = client.Get("/n/" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["target"], "/n/" + std::to_string(i));
  }
  EXPECT_EQ(server.connections(), 3);
}

TEST(HttpClient, ConnectionRefusedIsStatusZeroWithTheError) {
  HttpClient client(FreeLoopbackPort(), 2s);
  auto r = client.Get("/");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.body.find("refused"), std::string::npos) << r.body;
  EXPECT_TRUE(r.Json().is_null());
}

TEST(HttpClient, TimesOutOnAServerThatNeverAnswers) {
  asio::io_context ioc;
  tcp::acceptor silent(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  HttpClient client(silent.local_endpoint().port(), 300ms);  // connects via the backlog
  const auto start = std::chrono::steady_clock::now();
  auto r = client.Get("/");
  EXPECT_EQ(r.status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(HttpClient, RefusesNonLoopbackHosts) {
  EXPECT_THROW(HttpClient("10.0.0.1", 80), std::invalid_argument);
  EXPECT_NO_THROW(HttpClient("localhost", 80));
}

TEST(Binaries, PathsFollowTheBuildDirectory) {
  const std::string bin = BinaryDir();
  EXPECT_EQ(AgentBinary(), bin + "/agent/cjd-agent");
  EXPECT_EQ(HubBinary(), bin + "/hub/cjd-hub");
  EXPECT_EQ(CjdctlBinary(), bin + "/tools/cjdctl/cjdctl");
  EXPECT_EQ(DatasetDir("no-such-dataset"), "");
}

}  // namespace
}  // namespace cjd::testing
