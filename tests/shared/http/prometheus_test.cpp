// The Prometheus text writer, the latency histogram and the request metrics: exact text.
#include "shared/http/prometheus.h"

#include <gtest/gtest.h>

#include <thread>

#include "hub/http/hub_api.h"

namespace cjd::prom {
namespace {

TEST(PrometheusText, FamiliesSamplesAndEscapedLabelValues) {
  Writer w;
  w.Counter("cjd_x_total", "X things\nover lines", 3);
  w.Family("cjd_y", "gauge", "Y");
  w.Sample("cjd_y", {{"a", "plain"}, {"b", "q\"uote\\back\nline"}}, 0.25);
  w.Sample("cjd_y", {{"a", "big"}}, 1e20);
  EXPECT_EQ(w.text(),
            "# HELP cjd_x_total X things over lines\n"
            "# TYPE cjd_x_total counter\n"
            "cjd_x_total 3\n"
            "# HELP cjd_y Y\n"
            "# TYPE cjd_y gauge\n"
            "cjd_y{a=\"plain\",b=\"q\\\"uote\\\\back\\nline\"} 0.25\n"
            "cjd_y{a=\"big\"} 1e+20\n");
}

TEST(PrometheusText, HistogramBucketsAreCumulativeAndCountIsTheInfBucket) {
  Histogram h;
  h.Observe(0.0002);  // first bucket (0.0005)
  h.Observe(0.0005);  // le is inclusive
  h.Observe(0.003);   // 0.005
  h.Observe(42);      // only +Inf
  Writer w;
  h.Write(w, "cjd_lat_seconds", {{"route", "/r"}});
  const std::string& t = w.text();
  EXPECT_NE(t.find("cjd_lat_seconds_bucket{route=\"/r\",le=\"0.0005\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("cjd_lat_seconds_bucket{route=\"/r\",le=\"0.0025\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("cjd_lat_seconds_bucket{route=\"/r\",le=\"0.005\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("cjd_lat_seconds_bucket{route=\"/r\",le=\"10\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("cjd_lat_seconds_bucket{route=\"/r\",le=\"+Inf\"} 4\n"), std::string::npos) << t;
  EXPECT_NE(t.find("cjd_lat_seconds_sum{route=\"/r\"} 42.0037\n"), std::string::npos) << t;
  EXPECT_NE(t.find("cjd_lat_seconds_count{route=\"/r\"} 4\n"), std::string::npos) << t;
}

TEST(PrometheusText, RequestMetricsFromManyThreads) {
  RequestMetrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 1000; ++i) m.Observe("/v1/events", "POST", t == 0 ? 400 : 202, 0.001);
    });
  }
  for (auto& t : threads) t.join();
  Writer w;
  m.Write(w);
  const std::string& t = w.text();
  EXPECT_NE(t.find("cjd_http_requests_total{route=\"/v1/events\",method=\"POST\",code=\"202\"} 3000\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("cjd_http_requests_total{route=\"/v1/events\",method=\"POST\",code=\"400\"} 1000\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("cjd_http_request_duration_seconds_count{route=\"/v1/events\"} 4000\n"),
            std::string::npos) << t;
}

TEST(PrometheusText, HubRoutesAreTemplatesNeverIds) {
  auto label = [](const std::string& path) {
    http::Request r;
    r.path = path;
    return hub::HubRouteLabel(r);
  };
  EXPECT_EQ(label("/v1/profiles/123"), "/v1/profiles/{id}");
  EXPECT_EQ(label("/v1/profiles/123/split"), "/v1/profiles/{id}/split");
  EXPECT_EQ(label("/v1/segments/vip/members"), "/v1/segments/{id}/members");
  EXPECT_EQ(label("/v1/offers/o-1/stats"), "/v1/offers/{id}/stats");
  EXPECT_EQ(label("/v1/privacy/erasures/e-9"), "/v1/privacy/erasures/{id}");
  EXPECT_EQ(label("/v1/profiles"), "/v1/profiles");
  EXPECT_EQ(label("/metrics"), "/metrics");
  EXPECT_EQ(label("/v1/profiles/1/2/3"), "other");
  EXPECT_EQ(label("/ann@example.com"), "other");
  EXPECT_EQ(label("/v1/anything"), "other");
  EXPECT_EQ(label(""), "other");
}

}  // namespace
}  // namespace cjd::prom
