// CollectPoster: delivers one batch of events to the hub's POST /v1/collect, with the hub's
// contract in mind:
//   202/2xx {"accepted": N, "duplicates": D, "event_ids": [...]}  the whole batch is stored
//   400 naming "[i].field"   the batch is all-or-nothing: event i is bad, nothing was stored
//   401/403                  the key is wrong: stop at once
//   413                      too large
//   5xx, 429, no answer      transient
//
// What Post() does with a batch:
//   - transient failures are retried with exponential backoff (RetryPolicy: at most
//     max_attempts requests and max_total time per request body), then the batch fails (fatal);
//   - on a 400 that names an index, that event is set aside as rejected and the rest of the
//     batch is sent again (repeatedly, one bad event at a time), so one bad event never costs
//     the good ones; a 400 without an index, or a 413, splits the batch in halves (a single
//     event is then rejected on its own);
//   - any other answer (401, 403, 404, ...) is fatal.
// Every event is either stored (counted in accepted/duplicates as the hub reports them),
// rejected (listed), or, after a fatal error, unsent (counted). Resending is always safe: event
// ids are deterministic, the hub stores an id once.
//
// Threading: one Post() at a time per poster (the PostFn it calls is usually an HttpClient).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "shared/core/status.h"
#include "shared/http/client.h"

namespace cjd::ctl {

struct OutgoingEvent {
  std::string json;  // the event object
  std::string event_id;
  std::string order_id;
  std::string file;
  int64_t first_line = 0;
};

struct RejectedEvent {
  std::string event_id;
  std::string order_id;
  std::string file;
  int64_t first_line = 0;
  int http_status = 0;
  std::string field;    // as the hub named it, index stripped: "order.items[0].unit_price"
  std::string message;  // the hub's message
  // "FILE:LINE: order ORDER rejected by the hub (HTTP 400): field F: message [event ID]"
  std::string ToString() const;
};

struct RetryPolicy {
  int max_attempts = 6;                             // requests per body, first one included
  std::chrono::milliseconds initial_backoff{250};   // doubled after each failure
  std::chrono::milliseconds max_backoff{8'000};     // a Retry-After is honoured up to this
  std::chrono::milliseconds max_total{30'000};      // no new attempt after this long
};

struct BatchResult {
  int64_t accepted = 0;    // as the hub reported them (every event of a 2xx batch)
  int64_t duplicates = 0;  // as the hub reported them (of `accepted`, those it already held)
  int64_t stored = 0;      // events of the batch in 2xx answers
  int64_t requests = 0;
  int64_t retries = 0;  // transient failures that were retried
  std::vector<RejectedEvent> rejected;
  Status status;        // not ok: fatal, stop the import (the message says why)
  bool auth_failed = false;  // the fatal error was 401/403
  int64_t unsent = 0;   // events neither stored nor rejected (after a fatal error)
};

class CollectPoster {
 public:
  // Sends one request body (a JSON array) and returns the answer (status 0: no answer).
  using PostFn = std::function<http::ClientResponse(const std::string& body)>;
  using SleepFn = std::function<void(std::chrono::milliseconds)>;

  // `sleep` defaults to std::this_thread::sleep_for.
  CollectPoster(PostFn post, RetryPolicy policy, SleepFn sleep = {});

  // POST `target` ("/v1/collect") with "Authorization: Bearer token" over `client`, which must
  // outlive the poster.
  static PostFn HttpPost(http::HttpClient& client, std::string target, std::string token);

  BatchResult Post(const std::vector<OutgoingEvent>& events);

 private:
  // Sends `body` until an answer that is not transient, or the policy gives up (status 0 or the
  // last transient answer then, and `*gave_up` is set).
  http::ClientResponse SendWithRetry(const std::string& body, BatchResult* result, bool* gave_up,
                                     std::string* last_error);

  PostFn post_;
  RetryPolicy policy_;
  SleepFn sleep_;
};

}  // namespace cjd::ctl
