#include "shared/http/client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <vector>

namespace cjd::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr uint64_t kBodyLimit = 1ull << 30;  // exports in benchmarks can be large

// A reused keep-alive connection that the server had already closed fails like this.
bool IsStaleConnection(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

ClientResponse TransportError(const std::string& what, const std::string& message) {
  ClientResponse r;
  r.status = 0;
  r.body = what + ": " + message;
  return r;
}

}  // namespace

bool HeaderNameLess::operator()(const std::string& a, const std::string& b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  });
}

nlohmann::json ClientResponse::Json() const {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return nlohmann::json();
  return j;
}

std::string HttpUrl::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + prefix;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  const std::string shown(url.substr(0, 200));
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), url.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    if (url.substr(0, 8) == "https://") {
      return Status::Invalid("'" + shown + "': https is not supported; use http://HOST:PORT");
    }
    return Status::Invalid("'" + shown + "' is not a URL like http://127.0.0.1:8080");
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos || path.find_first_of("?#") != std::string_view::npos) {
    return Status::Invalid("'" + shown + "': only http://HOST[:PORT][/PATH] is supported");
  }
  HttpUrl out;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::Invalid("'" + shown + "': unclosed '['");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::Invalid("'" + shown + "': bad host");
      port_text = after.substr(1);
      if (port_text.empty()) return Status::Invalid("'" + shown + "': empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return Status::Invalid("'" + shown + "': empty port");
    }
  }
  if (out.host.empty()) return Status::Invalid("'" + shown + "' has no host");
  for (char c : out.host) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                    c == ':' || c == '_';
    if (!ok) return Status::Invalid("'" + shown + "' has a bad character in the host");
  }
  if (!port_text.empty()) {
    uint32_t port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        return Status::Invalid("'" + shown + "' has a bad port");
      }
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) return Status::Invalid("'" + shown + "' has a bad port");
    out.port = static_cast<uint16_t>(port);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.prefix = std::string(path);
  return out;
}

std::string UrlEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

struct HttpClient::Impl {
  Impl(std::string host_in, uint16_t port_in, std::chrono::milliseconds timeout_in)
      : host(std::move(host_in)), port(port_in), timeout(timeout_in) {}

  // Runs one async operation to completion on this thread. The tcp_stream's timer bounds it;
  // run_for() is a second guard.
  template <class Initiate>
  beast::error_code Run(Initiate initiate) {
    beast::error_code result = asio::error::would_block;
    bool done = false;
    stream.expires_after(timeout);
    initiate([&](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    ioc.restart();
    ioc.run_for(timeout + std::chrono::seconds(2));
    if (!done) {  // cannot normally happen; cancel and drain
      stream.close();
      ioc.restart();
      ioc.run_for(std::chrono::seconds(2));
      connected = false;
      return asio::error::timed_out;
    }
    return result;
  }

  void Close() {
    if (connected) {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    stream.close();
    buffer.consume(buffer.size());
    connected = false;
  }

  // The addresses to try: the host itself when it is an IP address, else the resolver's answer
  // (looked up once, kept for later reconnects).
  std::string Resolve() {
    if (!endpoints.empty()) return "";
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (!ec) {
      endpoints.emplace_back(address, port);
      return "";
    }
    tcp::resolver resolver(ioc);
    const auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return "cannot resolve '" + host + "': " + ec.message();
    for (const auto& r : results) endpoints.push_back(r.endpoint());
    if (endpoints.empty()) return "cannot resolve '" + host + "': no address";
    return "";
  }

  std::string Connect() {
    Close();
    if (auto error = Resolve(); !error.empty()) return error;
    auto ec = Run([&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
    if (ec) return ec.message();
    stream.socket().set_option(tcp::no_delay(true), ec);
    connected = true;
    ++connections_opened;
    return "";
  }

  ClientResponse Send(bhttp::request<bhttp::string_body>& req) {
    for (int attempt = 0;; ++attempt) {
      const bool reused = connected;
      if (!connected) {
        if (auto error = Connect(); !error.empty()) {
          return TransportError("connect to " + Endpoint(), error);
        }
      }
      auto ec = Run([&](auto handler) { bhttp::async_write(stream, req, std::move(handler)); });
      if (ec) {
        Close();
        if (reused && attempt == 0 && IsStaleConnection(ec)) continue;
        return TransportError("write to " + Endpoint(), ec.message());
      }
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(kBodyLimit);
      ec = Run([&](auto handler) { bhttp::async_read(stream, buffer, parser, std::move(handler)); });
      if (ec) {
        const bool nothing_received = !parser.got_some();
        Close();
        if (reused && attempt == 0 && nothing_received && IsStaleConnection(ec)) continue;
        return TransportError("read from " + Endpoint(), ec.message());
      }
      auto res = parser.release();
      ClientResponse out;
      out.status = static_cast<int>(res.result_int());
      for (const auto& field : res) {
        std::string name(field.name_string());
        std::string value(field.value());
        auto [it, inserted] = out.headers.emplace(name, value);
        if (!inserted) it->second += ", " + value;
      }
      out.body = std::move(res.body());
      if (!res.keep_alive()) Close();
      return out;
    }
  }

  std::string Endpoint() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }

  std::string host;
  uint16_t port;
  std::chrono::milliseconds timeout;
  std::string user_agent = "cjd-http";
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  std::vector<tcp::endpoint> endpoints;
  bool connected = false;
  int64_t connections_opened = 0;
};

HttpClient::HttpClient(const std::string& host, uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(host, port, timeout)) {}

HttpClient::~HttpClient() {
  if (impl_) impl_->Close();
}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

ClientResponse HttpClient::Request(const std::string& method, const std::string& target,
                                   const std::string& body, const Headers& headers) {
  bhttp::request<bhttp::string_body> req;
  const bhttp::verb verb = bhttp::string_to_verb(method);
  if (verb == bhttp::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, impl_->Endpoint());
  req.set(bhttp::field::user_agent, impl_->user_agent);
  req.keep_alive(true);
  if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  return impl_->Send(req);
}

namespace {
HttpClient::Headers Bearer(const std::string& token) {
  if (token.empty()) return {};
  return {{"Authorization", "Bearer " + token}};
}
}  // namespace

ClientResponse HttpClient::Get(const std::string& target, const std::string& bearer_token) {
  return Request("GET", target, "", Bearer(bearer_token));
}
ClientResponse HttpClient::Post(const std::string& target, const std::string& body,
                                const std::string& bearer_token) {
  return Request("POST", target, body, Bearer(bearer_token));
}
ClientResponse HttpClient::Put(const std::string& target, const std::string& body,
                               const std::string& bearer_token) {
  return Request("PUT", target, body, Bearer(bearer_token));
}
ClientResponse HttpClient::Delete(const std::string& target, const std::string& bearer_token) {
  return Request("DELETE", target, "", Bearer(bearer_token));
}

void HttpClient::set_timeout(std::chrono::milliseconds timeout) { impl_->timeout = timeout; }
void HttpClient::set_user_agent(std::string user_agent) {
  impl_->user_agent = std::move(user_agent);
}
uint16_t HttpClient::port() const { return impl_->port; }
const std::string& HttpClient::host() const { return impl_->host; }
int64_t HttpClient::connections_opened() const { return impl_->connections_opened; }
void HttpClient::Close() { impl_->Close(); }

}  // namespace cjd::http
