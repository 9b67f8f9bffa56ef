// HttpClient: a small synchronous HTTP/1.1 client on Boost.Beast, for cjdctl (import, report)
// and for tests and benchmarks that talk to a real cjd-hub or cjd-agent.
//
// Keeps one keep-alive connection and reconnects transparently when the server has closed it
// (the request is retried once, only if the reused connection failed before any response byte).
// Transport errors do not throw: they come back as status 0 with the error text in `body`.
// Every operation (connect, write, read) is bounded by the client's timeout; name resolution
// (only for a host that is not an IP address) uses the system resolver.
// Threading: one thread at a time; use one client per thread for concurrent requests.
// https:// (TLS 1.2+, OpenSSL): the server's certificate is verified against the CA file of the
// URL (HttpUrl::ca_file), else the process default (SetDefaultCaFile, e.g. cjdctl --hub-ca), else
// the system's store (/etc/ssl/certs); its host name (or IP address) must match the URL's host
// (subjectAltName). A failed verification is a transport error (status 0) naming the reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "shared/core/status.h"

namespace cjd::http {

// Orders header names case-insensitively, so headers["content-type"] finds "Content-Type".
struct HeaderNameLess {
  bool operator()(const std::string& a, const std::string& b) const;
};
using ClientHeaders = std::map<std::string, std::string, HeaderNameLess>;

struct ClientResponse {
  int status = 0;    // 0: no HTTP response (connection refused, timeout, ...); see body
  std::string body;  // the response body, or the transport error's text when status == 0
  ClientHeaders headers;  // repeated fields are joined with ", "

  // The body parsed as JSON; a null json (`is_null()`) if it is not valid JSON.
  nlohmann::json Json() const;
};

// "http[s]://HOST[:PORT][/PREFIX]" (no query, no user info). IPv6 hosts in brackets.
struct HttpUrl {
  std::string host;
  uint16_t port = 80;  // 443 for https:// without a port
  std::string prefix;  // path prefix without a trailing '/', usually empty
  std::string path = "/";  // the path exactly as given ("/" when none): a webhook's target
  bool tls = false;    // https://
  std::string ca_file; // https: the CA bundle to verify the server with ("": the default)
  std::string ToString() const;
};
// Errors name the problem ("--hub: ..." is left to the caller): not http(s)://, bad port, ...
Result<HttpUrl> ParseHttpUrl(std::string_view url);

// The CA bundle https:// connections verify servers with when their URL names none ("": the
// system's store). Process-wide; set it before the clients that need it are made.
void SetDefaultCaFile(std::string path);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay as they are).
std::string UrlEncode(std::string_view value);

class HttpClient {
 public:
  using Response = ClientResponse;
  using Headers = std::map<std::string, std::string>;

  static constexpr std::chrono::milliseconds kDefaultTimeout{10'000};

  // Talks to `host` (an IP address or a name) on `port`. Nothing is connected before the first
  // request.
  HttpClient(const std::string& host, uint16_t port,
             std::chrono::milliseconds timeout = kDefaultTimeout);
  // Talks to the URL's host and port, over TLS for https:// (see the top of this file).
  explicit HttpClient(const HttpUrl& url, std::chrono::milliseconds timeout = kDefaultTimeout);
  virtual ~HttpClient();
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
  void set_user_agent(std::string user_agent);
  uint16_t port() const;
  const std::string& host() const;
  // TCP connections opened so far (1 for any number of requests over one keep-alive connection).
  int64_t connections_opened() const;
  // Drops the current connection (the next request opens a new one).
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cjd::http
