#include "tools/cjdctl/collect_poster.h"

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <utility>

#include "tools/cjdctl/hub_error.h"

namespace cjd::ctl {
namespace {

using Clock = std::chrono::steady_clock;

bool IsTransient(int status) { return status == 0 || status == 429 || status >= 500; }

std::string Describe(const http::ClientResponse& r) {
  if (r.status == 0) return r.body;
  return "HTTP " + std::to_string(r.status) + ": " + ParseHubError(r.body).text;
}

std::string BuildBody(const std::vector<OutgoingEvent>& events, const std::vector<size_t>& which) {
  size_t size = 2;
  for (size_t i : which) size += events[i].json.size() + 1;
  std::string body;
  body.reserve(size);
  body.push_back('[');
  for (size_t k = 0; k < which.size(); ++k) {
    if (k > 0) body.push_back(',');
    body.append(events[which[k]].json);
  }
  body.push_back(']');
  return body;
}

// The field without its leading "[i]." (the index is ours, not the user's).
std::string StripIndex(const std::string& field) {
  if (!LeadingIndex(field)) return field;
  size_t pos = field.find(']') + 1;
  if (pos < field.size() && field[pos] == '.') ++pos;
  return field.substr(pos);
}

RejectedEvent Reject(const OutgoingEvent& e, int status, const HubError& error) {
  RejectedEvent r;
  r.event_id = e.event_id;
  r.order_id = e.order_id;
  r.file = e.file;
  r.first_line = e.first_line;
  r.http_status = status;
  r.field = StripIndex(error.field);
  r.message = error.message.empty() ? error.text : error.message;
  return r;
}

int64_t IntAt(const nlohmann::json& j, const char* key, int64_t fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return fallback;
  return it->get<int64_t>();
}

}  // namespace

std::string RejectedEvent::ToString() const {
  std::string out = file + ":" + std::to_string(first_line) + ": order " + order_id +
                    " rejected by the hub (HTTP " + std::to_string(http_status) + ")";
  if (!field.empty()) out += ": field " + field;
  if (!message.empty()) out += ": " + message;
  out += " [event " + event_id + "]";
  return out;
}

CollectPoster::CollectPoster(PostFn post, RetryPolicy policy, SleepFn sleep)
    : post_(std::move(post)), policy_(policy), sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  policy_.max_attempts = std::max(1, policy_.max_attempts);
}

CollectPoster::PostFn CollectPoster::HttpPost(http::HttpClient& client, std::string target,
                                              std::string token) {
  return [&client, target = std::move(target), token = std::move(token)](const std::string& body) {
    return client.Post(target, body, token);
  };
}

http::ClientResponse CollectPoster::SendWithRetry(const std::string& body, BatchResult* result,
                                                  bool* gave_up, std::string* last_error) {
  const auto start = Clock::now();
  auto backoff = policy_.initial_backoff;
  http::ClientResponse response;
  *gave_up = false;
  for (int attempt = 1; attempt <= policy_.max_attempts; ++attempt) {
    ++result->requests;
    response = post_(body);
    if (!IsTransient(response.status)) return response;
    *last_error = Describe(response);
    if (attempt == policy_.max_attempts) break;
    auto delay = std::min(backoff, policy_.max_backoff);
    if (auto it = response.headers.find("retry-after"); it != response.headers.end()) {
      // Clamped before it is multiplied: a huge Retry-After must not overflow.
      const long max_s = static_cast<long>(policy_.max_backoff.count() / 1000) + 1;
      const long seconds = std::min(std::strtol(it->second.c_str(), nullptr, 10), max_s);
      if (seconds > 0) {
        delay = std::max(delay, std::min(std::chrono::milliseconds(seconds * 1000),
                                         policy_.max_backoff));
      }
    }
    if (Clock::now() - start + delay > policy_.max_total) break;
    ++result->retries;
    sleep_(delay);
    backoff *= 2;
  }
  *gave_up = true;
  return response;
}

BatchResult CollectPoster::Post(const std::vector<OutgoingEvent>& events) {
  BatchResult result;
  std::vector<std::vector<size_t>> work;
  work.emplace_back(events.size());
  for (size_t i = 0; i < events.size(); ++i) work.back()[i] = i;
  // Each step stores a part, rejects one event or splits a part: at most ~3 steps an event.
  const size_t max_steps = 3 * events.size() + 8;
  const auto count_left = [&] {
    int64_t n = 0;
    for (const auto& part : work) n += static_cast<int64_t>(part.size());
    return n;
  };

  for (size_t step = 0; !work.empty(); ++step) {
    if (step >= max_steps) {  // cannot happen by the argument above
      result.unsent = count_left();
      result.status = Status::Internal("collect: the batch did not converge");
      return result;
    }
    std::vector<size_t> part = std::move(work.back());
    work.pop_back();
    if (part.empty()) continue;

    bool gave_up = false;
    std::string last_error;
    const http::ClientResponse r = SendWithRetry(BuildBody(events, part), &result, &gave_up,
                                                 &last_error);
    if (gave_up) {
      result.unsent = count_left() + static_cast<int64_t>(part.size());
      result.status = Status(Code::kUnavailable,
          "the hub did not take a batch after " + std::to_string(result.requests) +
          " request(s) with backoff (last: " + last_error + ")");
      return result;
    }
    if (r.status >= 200 && r.status < 300) {
      const nlohmann::json j = r.Json();
      const auto n = static_cast<int64_t>(part.size());
      result.accepted += IntAt(j, "accepted", n);
      result.duplicates += IntAt(j, "duplicates", 0);
      result.stored += n;
      continue;
    }
    const HubError error = ParseHubError(r.body);
    if (r.status == 400 || r.status == 413 || r.status == 422) {
      const std::optional<size_t> index = LeadingIndex(error.field);
      if (r.status != 413 && index && *index < part.size()) {
        result.rejected.push_back(Reject(events[part[*index]], r.status, error));
        part.erase(part.begin() + static_cast<std::ptrdiff_t>(*index));
        work.push_back(std::move(part));
        continue;
      }
      if (part.size() == 1) {
        result.rejected.push_back(Reject(events[part[0]], r.status, error));
        continue;
      }
      // No usable index: find the culprit(s) by halving.
      const size_t half = part.size() / 2;
      work.emplace_back(part.begin() + static_cast<std::ptrdiff_t>(half), part.end());
      work.emplace_back(part.begin(), part.begin() + static_cast<std::ptrdiff_t>(half));
      continue;
    }
    result.unsent = count_left() + static_cast<int64_t>(part.size());
    if (r.status == 401 || r.status == 403) {
      result.auth_failed = true;
      result.status = Status(Code::kUnauthorized,
          "the hub refused the key (HTTP " + std::to_string(r.status) + ": " + error.text +
          "); --token must be a source key from `cjdctl add-source`");
      return result;
    }
    result.status = Status::Invalid("the hub answered HTTP " + std::to_string(r.status) +
                                    " to POST /v1/collect: " + error.text);
    return result;
  }
  return result;
}

}  // namespace cjd::ctl
