// https:// end to end (issue 16): Debian's nginx, started by the test on loopback ports with a
// generated config, terminates TLS in front of a real hub and in front of a real webhook
// receiver, with certificates from cjdctl's own CA (init-ca, issue-cert --server). Shown:
//   - cjdctl reaches the hub over HTTPS when the certificate chains to --hub-ca (or $CJD_HUB_CA)
//     and names the host (DNS name or IP address); it refuses, with the reason and exit 1, a
//     certificate from an unknown CA or for another host name, and never sends the token then;
//   - the hub delivers webhooks to an https:// destination verified against [activation] ca_file.
// Skipped, saying so, when nginx is not installed (tests/run.sh installs nginx-light).
#include <gtest/gtest.h>
#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "shared/http/server.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kNginx = "/usr/sbin/nginx";

class Https : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    if (!fs::exists(kNginx)) {
      GTEST_SKIP() << "nginx is not installed (apt-get install nginx-light; tests/run.sh does)";
    }
    ASSERT_GE(sodium_init(), 0);
    root_ = fleet_.dir().path() / "tls";
    fs::create_directories(root_ / "tmp");
    // A CA and two server certificates: one for localhost and 127.0.0.1, one for another name.
    Run({"init-ca", "--dir", (root_ / "ca").string()});
    Run({"issue-cert", "--ca-dir", (root_ / "ca").string(), "--name", "hub", "--server", "--dns",
         "localhost", "--ip", "127.0.0.1", "--out-dir", root_.string()});
    Run({"issue-cert", "--ca-dir", (root_ / "ca").string(), "--name", "other", "--server",
         "--dns", "other.test", "--out-dir", root_.string()});
    fleet_.StartBroker();
    fleet_.InitHub();
    SetTomlKey(fleet_.hub_config(), "activation", "ca_file", TomlQuote(Ca()));
    fleet_.StartHub();
  }
  void TearDown() override {
    if (nginx_.pid() > 0) nginx_.Terminate(std::chrono::seconds(10));
  }

  void Run(const std::vector<std::string>& args) {
    std::string out;
    ASSERT_EQ(Fleet::Cjdctl(args, &out), 0) << out;
  }
  std::string Ca() const { return (root_ / "ca" / "ca.crt").string(); }

  // nginx with one TLS server per {port, certificate name, upstream port}.
  void StartNginx(const std::vector<std::tuple<uint16_t, std::string, uint16_t>>& servers) {
    const fs::path conf = root_ / "nginx.conf";
    std::ofstream out(conf);
    out << "daemon off;\nmaster_process on;\nworker_processes 1;\n"
        << "pid " << (root_ / "nginx.pid").string() << ";\n"
        << "error_log " << (root_ / "error.log").string() << " info;\n"
        << "events { worker_connections 64; }\n"
        << "http {\n  access_log off;\n";
    for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      out << "  " << t << "_temp_path " << (root_ / "tmp" / t).string() << ";\n";
    }
    for (const auto& [port, cert, upstream] : servers) {
      out << "  server {\n    listen 127.0.0.1:" << port << " ssl;\n"
          << "    ssl_certificate " << (root_ / (cert + ".crt")).string() << ";\n"
          << "    ssl_certificate_key " << (root_ / (cert + ".key")).string() << ";\n"
          << "    location / { proxy_pass http://127.0.0.1:" << upstream << "; }\n  }\n";
    }
    out << "}\n";
    out.close();
    // The workers run as nobody when the test runs as root: they need the temp folders.
    fs::permissions(root_, fs::perms::all);
    fs::permissions(root_ / "tmp", fs::perms::all);
    nginx_ = cjd::testing::Process::Start(
        {kNginx, "-p", root_.string(), "-c", conf.string(), "-e", (root_ / "error.log").string()},
        root_ / "nginx.out");
    for (const auto& [port, cert, upstream] : servers) {
      const uint16_t p = port;
      ASSERT_TRUE(cjd::testing::WaitUntil(
          [&] { return HttpClient(p, std::chrono::seconds(2)).Get("/").status != 0 || !nginx_.Running(); },
          std::chrono::seconds(20)))
          << nginx_.LogTail();
      ASSERT_TRUE(nginx_.Running()) << nginx_.LogTail()
                                    << cjd::testing::ReadFile(root_ / "error.log");
    }
  }

  int Cjdctl(std::vector<std::string> args, std::string* out) { return Fleet::Cjdctl(args, out); }

  Fleet fleet_;
  fs::path root_;
  cjd::testing::Process nginx_;
};

TEST_F(Https, CjdctlVerifiesTheHubsCertificateAndHostName) {
  const uint16_t good = cjd::testing::FreeLoopbackPort();
  const uint16_t wrong_name = cjd::testing::FreeLoopbackPort();
  StartNginx({{good, "hub", fleet_.hub_port()}, {wrong_name, "other", fleet_.hub_port()}});
  const std::string hub = "https://localhost:" + std::to_string(good);
  std::string out;
  // Verified against --hub-ca: the report comes back through TLS.
  ASSERT_EQ(Cjdctl({"report", "--hub", hub, "--token", fleet_.hub_token(), "--hub-ca", Ca()}, &out),
            0)
      << out;
  EXPECT_NE(out.find("orders"), std::string::npos) << out;
  // By IP address (the certificate names 127.0.0.1 too), the CA from the environment.
  const std::string by_ip = "https://127.0.0.1:" + std::to_string(good);
  std::vector<std::string> argv = {cjd::testing::CjdctlBinary(), "report", "--hub", by_ip,
                                   "--token", fleet_.hub_token()};
  ASSERT_EQ(cjd::testing::RunCommand(argv, std::chrono::seconds(60), &out,
                                     {{"CJD_HUB_CA", Ca()}}),
            0)
      << out;
  // Without the CA: the system's store does not know it.
  EXPECT_EQ(Cjdctl({"report", "--hub", hub, "--token", fleet_.hub_token()}, &out), 1) << out;
  EXPECT_NE(out.find("certificate"), std::string::npos) << out;
  // A certificate for another name.
  EXPECT_EQ(Cjdctl({"report", "--hub", "https://localhost:" + std::to_string(wrong_name),
                    "--token", fleet_.hub_token(), "--hub-ca", Ca()},
                   &out),
            1)
      << out;
  EXPECT_NE(out.find("localhost"), std::string::npos) << out;
  // A CA file that is not there: a usage error naming the option.
  EXPECT_NE(Cjdctl({"report", "--hub", hub, "--token", fleet_.hub_token(), "--hub-ca",
                    (root_ / "missing.crt").string()},
                   &out),
            0);
  EXPECT_NE(out.find("--hub-ca"), std::string::npos) << out;
}

TEST_F(Https, WebhooksReachAnHttpsReceiverVerifiedAgainstTheConfiguredCa) {
  std::mutex mu;
  std::vector<std::string> bodies;
  http::ServerOptions o;
  o.listen = {"127.0.0.1", 0};
  http::Server receiver(o, [&](http::Request&& req, http::Responder respond) {
    std::lock_guard lock(mu);
    bodies.push_back(req.body);
    respond({200, "{}"});
  });
  ASSERT_TRUE(receiver.Start().ok());
  const uint16_t tls_port = cjd::testing::FreeLoopbackPort();
  const uint16_t wrong_port = cjd::testing::FreeLoopbackPort();
  StartNginx({{tls_port, "hub", receiver.port()}, {wrong_port, "other", receiver.port()}});
  HttpClient hub(fleet_.hub_port(), std::chrono::seconds(60));
  auto put = [&](const std::string& id, const std::string& url) {
    return hub.Post("/v1/destinations",
                    json{{"id", id}, {"url", url}, {"secret", "whsec-0123456789abcdef"},
                         {"events", {"segment.entered"}}, {"segment", "buyers"}}
                        .dump(),
                    fleet_.hub_token());
  };
  ASSERT_EQ(hub.Post("/v1/segments", json{{"id", "buyers"}, {"rule", "orders >= 1"}}.dump(),
                     fleet_.hub_token())
                .status,
            201);
  ASSERT_EQ(put("tls", "https://localhost:" + std::to_string(tls_port) + "/hook").status, 201);
  ASSERT_EQ(put("wrong", "https://localhost:" + std::to_string(wrong_port) + "/hook").status, 201);
  const std::string key = fleet_.AddSource("webshop");
  const json order = {{"type", "order_completed"}, {"occurred_at", "2026-03-01T10:00:00Z"},
                      {"customer", {{"email", "tls.buyer@shop-mail.co.uk"}}},
                      {"order", {{"order_id", "T-1"}, {"currency", "EUR"},
                                 {"items", {{{"sku", "S"}, {"quantity", 1}, {"unit_price", "3.00"}}}}}}};
  ASSERT_EQ(hub.Post("/v1/collect", order.dump(), key).status, 202);
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        std::lock_guard lock(mu);
        return bodies.size() == 1;
      },
      std::chrono::seconds(60)))
      << hub.Get("/v1/destinations/tls/deliveries", fleet_.hub_token()).body;
  {
    std::lock_guard lock(mu);
    EXPECT_NE(bodies[0].find("tls.buyer@shop-mail.co.uk"), std::string::npos) << bodies[0];
  }
  // The certificate for another name: never delivered, the reason on the delivery.
  json d;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        d = hub.Get("/v1/destinations/wrong/deliveries", fleet_.hub_token()).Json();
        return d.contains("deliveries") && !d["deliveries"].empty() &&
               d["deliveries"][0]["attempts"].get<int64_t>() >= 1;
      },
      std::chrono::seconds(60)))
      << d.dump();
  EXPECT_EQ(d["deliveries"][0]["status"], "pending");
  EXPECT_NE(d["deliveries"][0]["last_error"].get<std::string>().find("certificate"),
            std::string::npos)
      << d.dump();
  std::lock_guard lock(mu);
  EXPECT_EQ(bodies.size(), 1u);
}

}  // namespace
}  // namespace cjd::itest
