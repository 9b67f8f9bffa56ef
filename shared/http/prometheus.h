// The Prometheus text exposition format (version 0.0.4), written by hand: metric families with
// HELP and TYPE lines, label values escaped, and a fixed-bucket latency histogram.
//
// Names follow the Prometheus conventions: the `cjd_` prefix, base units (`_seconds`,
// `_bytes`), `_total` for counters. Label values never carry personal data: routes are
// templates (`/v1/profiles/{id}`), devices and stores are their ids.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace cjd::prom {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Writer {
 public:
  // Starts a family: "# HELP" and "# TYPE" lines (type: counter, gauge, histogram). Each name
  // once per exposition.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, double value);
  void Sample(std::string_view name, double value) { Sample(name, {}, value); }
  // The whole family in one call, for a single unlabelled value.
  void Counter(std::string_view name, std::string_view help, double value);
  void Gauge(std::string_view name, std::string_view help, double value);

  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

// Latency buckets (seconds) for HTTP requests and acknowledgements: 0.5 ms to 10 s.
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// A histogram with kLatencyBuckets; Observe is lock-free and thread-safe.
class Histogram {
 public:
  void Observe(double seconds);
  // `name`'s _bucket, _sum and _count samples with `labels` (the family line is the caller's).
  void Write(Writer& w, std::string_view name, const Labels& labels) const;

 private:
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> buckets_{};  // last: +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};  // microseconds, so the sum stays an integer
};

// HTTP requests by route template, method and status, and their latency by route: what the
// server saw (header read to response ready), refusals at the header stage included.
class RequestMetrics {
 public:
  void Observe(const std::string& route, const std::string& method, int status, double seconds);
  // cjd_http_requests_total{route,method,code} and cjd_http_request_duration_seconds{route}.
  void Write(Writer& w) const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> counts_;  // guarded by mu_
  std::map<std::string, Histogram> latency_;                               // guarded by mu_
};

}  // namespace cjd::prom
