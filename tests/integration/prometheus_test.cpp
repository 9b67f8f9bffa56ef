// GET /metrics on a real hub and a real agent (real Mosquitto, real processes): the figures
// match what happened, per-device gauges follow a device going offline, nothing personal is
// exposed, the optional [metrics] token is enforced, and Debian's `promtool check metrics`
// accepts both expositions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;

// The value of the sample `series` (name with its labels, as written) in `text`; NaN if absent.
double SampleValue(const std::string& text, const std::string& series) {
  size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      return std::stod(text.substr(at + series.size() + 1));
    }
    at += series.size();
  }
  return std::nan("");
}

std::string PromtoolPath() {
  for (const char* p : {"/usr/bin/promtool", "/usr/local/bin/promtool"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

class Prometheus : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
  }

  void StartHub() {
    fleet_.StartHub();
    hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 30s);
  }

  // `promtool check metrics` on `text`: its exit code, output in *out.
  int Promtool(const std::string& text, std::string* out) {
    const auto file = fleet_.dir().Join("scrape-" + std::to_string(++scrapes_) + ".txt");
    std::ofstream(file) << text;
    return cjd::testing::RunCommand(
        {"/bin/sh", "-c", PromtoolPath() + " check metrics < '" + file.string() + "'"}, 60s, out);
  }

  Fleet fleet_;
  std::unique_ptr<HttpClient> hub_;
  int scrapes_ = 0;
};

TEST_F(Prometheus, HubAndAgentExposeWhatHappenedAndPromtoolAcceptsIt) {
  if (PromtoolPath().empty()) {
    GTEST_SKIP() << "promtool not installed (Debian package prometheus; tests/run.sh installs it)";
  }
  const std::string key = fleet_.AddSource("webshop");
  SetTomlKey(fleet_.hub_config(), "alerts", "offline_minutes", "0");
  StartHub();
  FleetAgent& pos = fleet_.AddDevice("pos-7", "store-9", "pos");
  ASSERT_TRUE(fleet_.StartAgent(pos));
  HttpClient agent(pos.port, 30s);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(PostEvents(agent, pos.token, MakeTransaction("store-9")).status, 202);
  }
  ASSERT_EQ(PostEvents(agent, pos.token, MakeTransaction("store-1")).status, 400);  // wrong store
  // A person's identifiers reach the hub through collect; none may show in the metrics.
  ASSERT_EQ(hub_->Post("/v1/collect",
                       json({{"type", "identify"},
                             {"occurred_at", "2026-11-20T10:00:00Z"},
                             {"customer", {{"email", "metrics.person@example.org"},
                                           {"loyalty_id", "LOY-METRICS-55"}}}})
                           .dump(),
                       key)
                .status,
            202);
  ASSERT_TRUE(fleet_.WaitHubEventsTotal(4)) << fleet_.Diagnostics();
  ASSERT_TRUE(fleet_.WaitBacklogDrained(pos)) << fleet_.Diagnostics();
  ASSERT_EQ(hub_->Get("/v1/metrics", "wrong-token").status, 401);

  // The hub: no token needed by default.
  HttpResponse scrape;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        scrape = hub_->Get("/metrics");
        return scrape.status == 200 &&
               SampleValue(scrape.body, "cjd_hub_projection_lag_events") == 0 &&
               SampleValue(scrape.body,
                           R"(cjd_hub_device_online{device="pos-7",store="store-9",kind="pos"})") == 1;
      },
      30s))
      << scrape.body;
  EXPECT_THAT(scrape.headers["content-type"], ::testing::StartsWith("text/plain; version=0.0.4"));
  const std::string& hub = scrape.body;
  EXPECT_EQ(SampleValue(hub, "cjd_hub_events_total"), 4);
  EXPECT_EQ(SampleValue(hub, R"(cjd_hub_events_by_type_total{type="transaction"})"), 3);
  EXPECT_EQ(SampleValue(hub, R"(cjd_hub_events_by_type_total{type="identify"})"), 1);
  EXPECT_EQ(SampleValue(hub, R"(cjd_hub_rejected_total{reason="bad_seal"})"), 0);
  EXPECT_EQ(SampleValue(hub, "cjd_hub_mqtt_connected"), 1);
  // As the device's last heartbeat reported it.
  EXPECT_GE(SampleValue(hub, R"(cjd_hub_device_backlog_events{device="pos-7",store="store-9",kind="pos"})"),
            0);
  EXPECT_EQ(SampleValue(hub, "cjd_hub_profiles"),
            fleet_.HubStats()["projection"]["profiles"].get<double>());
  EXPECT_EQ(SampleValue(hub, R"(cjd_http_requests_total{route="/v1/collect",method="POST",code="202"})"),
            1);
  EXPECT_EQ(SampleValue(hub, R"(cjd_http_requests_total{route="/v1/metrics",method="GET",code="401"})"),
            1);
  EXPECT_GE(SampleValue(hub, R"(cjd_http_request_duration_seconds_count{route="/v1/collect"})"), 1);
  for (const char* secret : {"metrics.person", "LOY-METRICS-55", "example.org"}) {
    EXPECT_EQ(hub.find(secret), std::string::npos) << secret;
  }
  std::string out;
  EXPECT_EQ(Promtool(hub, &out), 0) << out << "\n" << hub;

  // The agent.
  HttpResponse a = agent.Get("/metrics");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(SampleValue(a.body, "cjd_agent_events_accepted_total"), 3);
  EXPECT_EQ(SampleValue(a.body, "cjd_agent_outbox_backlog_events"), 0);
  EXPECT_EQ(SampleValue(a.body, "cjd_agent_mqtt_connected"), 1);
  EXPECT_GE(SampleValue(a.body, "cjd_agent_ack_latency_seconds_count"), 1);
  EXPECT_EQ(SampleValue(a.body, "cjd_agent_ack_latency_seconds_count"),
            SampleValue(a.body, R"(cjd_agent_ack_latency_seconds_bucket{le="+Inf"})"));
  EXPECT_EQ(SampleValue(a.body, R"(cjd_http_requests_total{route="/v1/events",method="POST",code="202"})"),
            3);
  EXPECT_EQ(SampleValue(a.body, R"(cjd_http_requests_total{route="/v1/events",method="POST",code="400"})"),
            1);
  EXPECT_EQ(a.body.find(pos.token), std::string::npos);
  EXPECT_EQ(Promtool(a.body, &out), 0) << out << "\n" << a.body;

  // The device goes away: its gauge follows (the broker publishes its last will).
  // A heartbeat after the sales (one a second here) has told the hub the device's last_seq.
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        HttpResponse d = hub_->Get("/v1/devices", fleet_.hub_token());
        return d.status == 200 && d.Json()["devices"][0]["last_seq"] == 3;
      },
      30s));
  fleet_.KillAgent(pos);
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        scrape = hub_->Get("/metrics");
        return SampleValue(scrape.body,
                           R"(cjd_hub_device_online{device="pos-7",store="store-9",kind="pos"})") == 0;
      },
      60s))
      << scrape.body;
  EXPECT_EQ(SampleValue(scrape.body, "cjd_hub_devices_online"), 0);
  // Its last figures stay those of its last heartbeat (the will it left was built when it
  // connected, before any sale), and a will is no clock skew.
  HttpResponse devices = hub_->Get("/v1/devices", fleet_.hub_token());
  ASSERT_EQ(devices.status, 200) << devices.body;
  const json dead = devices.Json()["devices"][0];
  EXPECT_EQ(dead["last_seq"], 3) << dead.dump();
  EXPECT_EQ(dead["acked_seq"], 3) << dead.dump();
  EXPECT_TRUE(dead["clock_skew_ms"].is_null()) << dead.dump();
  EXPECT_FALSE(dead["online"].get<bool>());
  // ... and GET /v1/alerts lists it ([alerts] offline_minutes = 0 here).
  HttpResponse alerts = hub_->Get("/v1/alerts", fleet_.hub_token());
  ASSERT_EQ(alerts.status, 200) << alerts.body;
  ASSERT_EQ(alerts.Json()["count"], 1) << alerts.body;
  EXPECT_EQ(alerts.Json()["alerts"][0]["kind"], "device_offline");
  EXPECT_EQ(alerts.Json()["alerts"][0]["device_id"], "pos-7");
  EXPECT_EQ(alerts.Json()["thresholds"]["offline_minutes"], 0);
}

// The example scrape config and alert rules in device-configs/ are what Prometheus accepts, and
// every series their rules name is one the hub or an agent exposes.
TEST(PrometheusConfigs, TheExamplesPassPromtoolAndNameRealSeries) {
  if (PromtoolPath().empty()) {
    GTEST_SKIP() << "promtool not installed (Debian package prometheus; tests/run.sh installs it)";
  }
  const std::string dir = cjd::testing::SourceDir() + "/device-configs/";
  std::string out;
  EXPECT_EQ(cjd::testing::RunCommand({PromtoolPath(), "check", "config", dir + "prometheus.yml"},
                                     60s, &out),
            0)
      << out;
  EXPECT_EQ(cjd::testing::RunCommand({PromtoolPath(), "check", "rules", dir + "cjd-alerts.yml"},
                                     60s, &out),
            0)
      << out;
  const std::string rules = cjd::testing::ReadFile(dir + "cjd-alerts.yml");
  const std::string sources = cjd::testing::ReadFile(cjd::testing::SourceDir() +
                                                     "/hub/http/hub_metrics.cpp") +
                              cjd::testing::ReadFile(cjd::testing::SourceDir() +
                                                     "/agent/http/agent_metrics.cpp") +
                              cjd::testing::ReadFile(cjd::testing::SourceDir() +
                                                     "/shared/http/prometheus.cpp");
  const std::regex series(R"(cjd_[a-z_]+)");
  int named = 0;
  for (auto it = std::sregex_iterator(rules.begin(), rules.end(), series);
       it != std::sregex_iterator(); ++it) {
    ++named;
    EXPECT_NE(sources.find("\"" + it->str() + "\""), std::string::npos)
        << it->str() << " is in cjd-alerts.yml but exposed by no program";
  }
  EXPECT_GE(named, 10);
}

TEST_F(Prometheus, AMetricsTokenWhenConfigured) {
  const std::string token = "scrape-token-0123456789";
  SetTomlKey(fleet_.hub_config(), "metrics", "token", TomlQuote(token));
  StartHub();
  EXPECT_EQ(hub_->Get("/metrics").status, 401);
  EXPECT_EQ(hub_->Get("/metrics", "wrong-token-0123456789").status, 401);
  EXPECT_EQ(hub_->Get("/metrics", token).status, 200);
  EXPECT_EQ(hub_->Get("/metrics", fleet_.hub_token()).status, 200);
  // The metrics token opens nothing else.
  EXPECT_EQ(hub_->Get("/v1/stats", token).status, 401);
  EXPECT_EQ(hub_->Post("/metrics", "{}", token).status, 405);
}

}  // namespace
}  // namespace cjd::itest
