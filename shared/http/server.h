// A small asynchronous HTTP/1.1 server on Boost.Beast, shared by the agent and the hub.
// One role per file inside (listener, session); every connection has a body limit and timeouts.
//
// Threading: the handler runs on one of the server's I/O threads. It must not block; it answers
// by calling the Responder exactly once, from any thread, now or later (the agent's outbox answers
// after its group commit).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "shared/config/config.h"
#include "shared/core/status.h"

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

// {"error": {"code": code, "message": message, "field": field}} with the given status;
// "field" is omitted when empty.
Response JsonError(int status, std::string_view code, std::string_view message,
                   std::string_view field = {});
// Maps a Status to the usual error response (kInvalid -> 400 with the field, kFull -> 507, ...).
Response ErrorFromStatus(const Status& status);

struct ServerOptions {
  HostPort listen{"127.0.0.1", 0};
  int threads = 1;
  size_t body_limit = 1u << 20;          // larger bodies get 413 with a JSON error
  int request_timeout_ms = 30'000;       // read/write timeout per request
  size_t max_connections = 1024;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
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
