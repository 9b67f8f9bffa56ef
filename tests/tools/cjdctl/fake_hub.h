// FakeHub: a stand-in for cjd-hub's POST /v1/collect and GET /v1/metrics, on the project's HTTP
// server at 127.0.0.1 (port 0), for the cjdctl import and report tests until the real endpoints
// exist. Collect follows the hub's contract: Bearer source key (401 otherwise), a JSON array of
// events validated with the shared event schema (400 naming "[i].field", all-or-nothing), events
// with order.order_id "BAD" refused like a schema error, 413 over max_events, idempotent event
// ids (202 {"accepted": all of the batch, "duplicates": those already held, "event_ids"}). Failures can be injected (503 for the first
// N requests, or always). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "shared/http/server.h"

namespace cjd::ctl::testing {

class FakeHub {
 public:
  struct Options {
    std::string source_key = "src-key";
    std::string admin_token = "admin-token";
    int fail_first = 0;           // answer the first N collect requests with fail_status
    bool always_fail = false;     // answer every collect request with fail_status
    int fail_status = 503;
    bool name_index = true;       // false: a 400 for BAD names no field (forces halving)
    size_t max_events = 10'000;   // more in one request: 413
    int metrics_status = 200;
    std::string metrics_body = "{}";
  };

  explicit FakeHub(Options options);
  ~FakeHub();

  uint16_t port() const;
  std::string url() const;  // http://127.0.0.1:PORT

  // Collect: how many times each event id was stored or answered as a duplicate in an accepted
  // batch (1 = exactly once); requests seen; events per request.
  std::map<std::string, int> accepted() const;
  std::map<std::string, std::string> stored_json() const;  // event id -> event JSON (first)
  int collect_requests() const;
  int64_t events_in_requests() const;
  // Metrics: the target of the last GET /v1/metrics ("/v1/metrics?from=...").
  std::string last_metrics_target() const;

 private:
  void Handle(http::Request&& req, http::Responder respond);
  http::Response Collect(const http::Request& req);

  Options options_;
  std::unique_ptr<http::Server> server_;
  mutable std::mutex mu_;
  int requests_ = 0;                        // GUARDED_BY(mu_)
  int64_t events_in_requests_ = 0;          // GUARDED_BY(mu_)
  std::map<std::string, int> accepted_;     // GUARDED_BY(mu_)
  std::map<std::string, std::string> json_; // GUARDED_BY(mu_)
  std::string last_metrics_target_;         // GUARDED_BY(mu_)
};

}  // namespace cjd::ctl::testing
