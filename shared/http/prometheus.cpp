#include "shared/http/prometheus.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

namespace cjd::prom {
namespace {

void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    out += std::to_string(static_cast<int64_t>(v));
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    out += buf;
  }
}

// Label values: backslash, double quote and line feed escaped (the format's rules).
void AppendLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

}  // namespace

void Writer::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) out_ += c == '\n' ? ' ' : c;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Writer::Sample(std::string_view name, const Labels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += labels[i].first;
      out_ += "=\"";
      AppendLabelValue(out_, labels[i].second);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  AppendValue(out_, value);
  out_ += '\n';
}

void Writer::Counter(std::string_view name, std::string_view help, double value) {
  Family(name, "counter", help);
  Sample(name, value);
}

void Writer::Gauge(std::string_view name, std::string_view help, double value) {
  Family(name, "gauge", help);
  Sample(name, value);
}

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e6),
                    std::memory_order_relaxed);
}

void Histogram::Write(Writer& w, std::string_view name, const Labels& labels) const {
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= kLatencyBuckets.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    Labels l = labels;
    if (i < kLatencyBuckets.size()) {
      std::string le;
      AppendValue(le, kLatencyBuckets[i]);
      l.emplace_back("le", le);
    } else {
      l.emplace_back("le", "+Inf");
    }
    w.Sample(bucket, l, static_cast<double>(cumulative));
  }
  // _count is the +Inf bucket, so the two always agree within one exposition.
  w.Sample(std::string(name) + "_sum", labels,
           static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6);
  w.Sample(std::string(name) + "_count", labels, static_cast<double>(cumulative));
}

void RequestMetrics::Observe(const std::string& route, const std::string& method, int status,
                             double seconds) {
  std::lock_guard lock(mu_);
  ++counts_[{route, method, status}];
  latency_[route].Observe(seconds);
}

void RequestMetrics::Write(Writer& w) const {
  std::lock_guard lock(mu_);
  w.Family("cjd_http_requests_total", "counter",
           "HTTP requests answered, by route template, method and status code");
  for (const auto& [key, n] : counts_) {
    const auto& [route, method, code] = key;
    w.Sample("cjd_http_requests_total",
             {{"route", route}, {"method", method}, {"code", std::to_string(code)}},
             static_cast<double>(n));
  }
  w.Family("cjd_http_request_duration_seconds", "histogram",
           "From a request's header read to its response ready, by route template");
  for (const auto& [route, h] : latency_) {
    h.Write(w, "cjd_http_request_duration_seconds", {{"route", route}});
  }
}

}  // namespace cjd::prom
