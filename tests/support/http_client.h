// HttpClient: a small synchronous HTTP/1.1 client (Boost.Beast) for tests and benchmarks that
// talk to a real cjd-hub or cjd-agent over loopback.
//
// Keeps one keep-alive connection and reconnects transparently when the server has closed it
// (the request is retried once, only if the reused connection failed before any response byte).
// Transport errors do not throw: they come back as status 0 with the error text in `body`.
// Every operation (connect, write, read) is bounded by the client's timeout.
// Threading: one thread at a time; use one client per thread for concurrent load.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace cjd::testing {

// Orders header names case-insensitively, so headers["content-type"] finds "Content-Type".
struct HeaderNameLess {
  bool operator()(const std::string& a, const std::string& b) const;
};
using HttpHeaders = std::map<std::string, std::string, HeaderNameLess>;

struct HttpResponse {
  int status = 0;    // 0: no HTTP response (connection refused, timeout, ...); see body
  std::string body;  // the response body, or the transport error's text when status == 0
  HttpHeaders headers;  // repeated fields are joined with ", "

  // The body parsed as JSON; a null json (`is_null()`) if it is not valid JSON.
  nlohmann::json Json() const;
};

class HttpClient {
 public:
  using Response = HttpResponse;
  using Headers = std::map<std::string, std::string>;

  static constexpr std::chrono::milliseconds kDefaultTimeout{10'000};

  // Talks to 127.0.0.1:`port`.
  explicit HttpClient(uint16_t port, std::chrono::milliseconds timeout = kDefaultTimeout);
  // `host` must be a loopback address ("127.0.0.1", "::1", "localhost"); anything else throws
  // std::invalid_argument: tests never leave the machine.
  HttpClient(const std::string& host, uint16_t port,
             std::chrono::milliseconds timeout = kDefaultTimeout);
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `method` is "GET", "POST", "PUT", "DELETE", ... `target` is "/path?query". `headers` are
  // added as given; Host and Content-Length are set, and Content-Type defaults to
  // application/json when `body` is not empty.
  Response Request(const std::string& method, const std::string& target,
                   const std::string& body = "", const Headers& headers = {});

  // With a non-empty `bearer_token`, sends "Authorization: Bearer <token>".
  Response Get(const std::string& target, const std::string& bearer_token = "");
  Response Post(const std::string& target, const std::string& body,
                const std::string& bearer_token = "");
  Response Put(const std::string& target, const std::string& body,
               const std::string& bearer_token = "");
  Response Delete(const std::string& target, const std::string& bearer_token = "");

  void set_timeout(std::chrono::milliseconds timeout);
  uint16_t port() const;
  // Drops the current connection (the next request opens a new one).
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cjd::testing
