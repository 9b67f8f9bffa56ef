// HttpClient for tests and benchmarks: the project's client (shared/http/client.h) restricted to
// loopback hosts, so a test never leaves the machine. Everything else (keep-alive, transparent
// reconnect, status 0 for transport errors, timeouts) is the shared client's; see there.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "shared/http/client.h"

namespace cjd::testing {

using HeaderNameLess = cjd::http::HeaderNameLess;
using HttpHeaders = cjd::http::ClientHeaders;
using HttpResponse = cjd::http::ClientResponse;

class HttpClient : public cjd::http::HttpClient {
 public:
  // Talks to 127.0.0.1:`port`.
  explicit HttpClient(uint16_t port, std::chrono::milliseconds timeout = kDefaultTimeout);
  // `host` must be a loopback address ("127.0.0.1", "::1", "localhost"); anything else throws
  // std::invalid_argument.
  HttpClient(const std::string& host, uint16_t port,
             std::chrono::milliseconds timeout = kDefaultTimeout);
};

}  // namespace cjd::testing
