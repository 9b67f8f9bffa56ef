#include "tests/tools/cjdctl/fake_hub.h"

#include <stdexcept>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd::ctl::testing {

FakeHub::FakeHub(Options options) : options_(std::move(options)) {
  http::ServerOptions so;
  so.listen = HostPort{"127.0.0.1", 0};
  so.threads = 2;
  so.body_limit = 8u << 20;
  server_ = std::make_unique<http::Server>(
      so, [this](http::Request&& req, http::Responder respond) { Handle(std::move(req), respond); });
  Status st = server_->Start();
  if (!st.ok()) throw std::runtime_error("FakeHub: " + st.ToString());
}

FakeHub::~FakeHub() { server_->Stop(); }

uint16_t FakeHub::port() const { return server_->port(); }
std::string FakeHub::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

std::map<std::string, int> FakeHub::accepted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return accepted_;
}
std::map<std::string, std::string> FakeHub::stored_json() const {
  std::lock_guard<std::mutex> lock(mu_);
  return json_;
}
int FakeHub::collect_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}
int64_t FakeHub::events_in_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_in_requests_;
}
std::string FakeHub::last_metrics_target() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_metrics_target_;
}

void FakeHub::Handle(http::Request&& req, http::Responder respond) {
  if (req.method == "POST" && req.path == "/v1/collect") {
    respond(Collect(req));
    return;
  }
  if (req.method == "GET" && req.path == "/v1/metrics") {
    if (req.BearerToken() != options_.admin_token) {
      respond(http::JsonError(401, "unauthorized", "admin token required"));
      return;
    }
    std::string target = "/v1/metrics";
    char sep = '?';
    for (const auto& [k, v] : req.query) {  // decoded, sorted by name
      target += sep + k + "=" + v;
      sep = '&';
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_metrics_target_ = target;
    }
    http::Response r;
    r.status = options_.metrics_status;
    r.body = options_.metrics_body;
    respond(std::move(r));
    return;
  }
  respond(http::JsonError(404, "not_found", "no such endpoint"));
}

http::Response FakeHub::Collect(const http::Request& req) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_;
  if (req.BearerToken() != options_.source_key) {
    return http::JsonError(401, "unauthorized", "unknown source key");
  }
  if (options_.always_fail || options_.fail_first > 0) {
    if (options_.fail_first > 0) --options_.fail_first;
    return http::JsonError(options_.fail_status, "unavailable", "try again");
  }
  Result<nlohmann::json> body = ParseJsonExact(req.body);
  if (!body.ok() || !body->is_array()) {
    return http::JsonError(400, "invalid_json", "expected a JSON array");
  }
  events_in_requests_ += static_cast<int64_t>(body->size());
  if (body->size() > options_.max_events) {
    return http::JsonError(413, "too_large", "too many events");
  }
  for (size_t i = 0; i < body->size(); ++i) {
    const std::string index = "[" + std::to_string(i) + "]";
    Result<Event> e = ValidateEvent((*body)[i]);
    if (!e.ok()) {
      return http::JsonError(400, "invalid_event", e.status().message(),
                             index + "." + e.status().field());
    }
    if (e->order && e->order->order_id == "BAD") {
      return http::JsonError(400, "invalid_event", "order id BAD is refused",
                             options_.name_index ? index + ".order.order_id" : "");
    }
  }
  int64_t duplicates = 0;
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& event : *body) {
    const std::string id = event["event_id"].get<std::string>();
    ids.push_back(id);
    if (accepted_[id]++ == 0) {
      json_[id] = CanonicalJsonValue(event);
    } else {
      ++duplicates;
    }
  }
  http::Response r;
  r.status = 202;
  // Like the hub: "accepted" counts every event of the batch, "duplicates" those it already held.
  r.body = nlohmann::json{{"accepted", static_cast<int64_t>(body->size())},
                          {"duplicates", duplicates},
                          {"event_ids", ids}}
               .dump();
  return r;
}

}  // namespace cjd::ctl::testing
