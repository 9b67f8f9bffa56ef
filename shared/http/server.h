// A small asynchronous HTTP/1.1 server on Boost.Beast, shared by the agent and the hub.
// One role per file inside (listener, session); every connection has a body limit and timeouts.
//
// Threading: the handler runs on one of the server's I/O threads. It must not block; it answers
// by calling the Responder exactly once, from any thread, now or later (the agent's outbox answers
// after its group commit). Work that may take long (a database transaction) belongs on another
// thread (see WorkerPool in worker_pool.h), so that one slow request cannot stall the others.
//
// Memory per connection is bounded whatever a client sends: the read buffer holds at most
// header_limit + 16 KiB (request header, a chunk-size line with its extensions, the trailer), the
// body at most body_limit, and a body is read only once the Authorizer let its header through.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shared/config/config.h"
#include "shared/core/status.h"
#include "shared/http/prometheus.h"

namespace cjd::http {

struct Request {
  std::string method;   // "GET", "POST", ...
  std::string path;     // target without the query string, percent-decoded
  std::map<std::string, std::string> query;   // decoded query parameters
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
  std::string Header(std::string_view lower_name) const;
  // The token of an "Authorization: Bearer TOKEN" header, or empty.
  std::string BearerToken() const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
};

using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request&&, Responder)>;
// Called with a request's head (method, path, query, headers; body empty) as soon as its header
// is read, before any body byte is: a Response to answer at once instead of reading the body
// (401 for a missing token, 404 for no such endpoint, ...), or nullopt to read the body and call
// the Handler. When a body was announced, the connection is closed after that answer (what the
// client still sends is read and discarded for a bounded time, so that it can read the answer).
// Thread: an I/O thread; must be quick and must not block.
using Authorizer = std::function<std::optional<Response>(const Request& head)>;

// True when the head announces a body (Content-Length > 0 or a Transfer-Encoding).
bool HasBody(const Request& head);

// {"error": {"code": code, "message": message, "field": field}} with the given status;
// "field" is omitted when empty.
Response JsonError(int status, std::string_view code, std::string_view message,
                   std::string_view field = {});
// Maps a Status to the usual error response (kInvalid -> 400 with the field, kFull -> 507, ...).
Response ErrorFromStatus(const Status& status);
// 400 {"error": {"code": "invalid", "message", "field"}}.
Response InvalidField(std::string field, std::string message);
// A non-negative decimal integer of at most 18 digits (a query value, a path segment): no sign,
// no spaces, nothing after it; nullopt otherwise.
std::optional<int64_t> ParseCount(std::string_view s);

struct ServerOptions {
  HostPort listen{"127.0.0.1", 0};
  int threads = 1;
  size_t body_limit = 1u << 20;          // larger bodies get 413 with a JSON error
  // Request line and headers (431 beyond). A chunk-size line with its extensions, and a trailer,
  // must fit the read buffer (header_limit + 16 KiB; 400 beyond).
  size_t header_limit = 16 * 1024;
  // From accept, or from the end of the previous response, to a complete request header: idle
  // keep-alive connections and clients that send their header slowly are closed after it.
  int header_timeout_ms = 10'000;
  int request_timeout_ms = 30'000;       // body read (after the header), and the response write
  // At the cap a new connection replaces the longest-idle one (waiting for a request header, or
  // draining after a refusal); it is refused only when every connection is busy with a request.
  size_t max_connections = 1024;
  // Optional: every answered request is counted here (refusals at the header stage, 400/413/431
  // included), under the label route_label gives its head ("other" when unset or for a request
  // whose head could not be read). Neither may block; both are called on I/O threads.
  prom::RequestMetrics* request_metrics = nullptr;
  std::function<std::string(const Request& head)> route_label;
};

class Server {
 public:
  // `authorize` may be empty (every body is read).
  Server(ServerOptions options, Handler handler, Authorizer authorize = nullptr);
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the I/O threads. Fails with kIo naming the address if it cannot bind.
  Status Start();
  // The bound port (useful with port 0). REQUIRES: Start() succeeded.
  uint16_t port() const;
  // Stops accepting, closes connections, joins the threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cjd::http
