#include "shared/http/client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <mutex>
#include <cctype>
#include <vector>

namespace cjd::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr uint64_t kBodyLimit = 1ull << 30;  // exports in benchmarks can be large

std::mutex g_ca_mu;
std::string g_default_ca_file;  // guarded by g_ca_mu

// A reused keep-alive connection that the server had already closed fails like this.
bool IsStaleConnection(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == asio::ssl::error::stream_truncated;
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

void SetDefaultCaFile(std::string path) {
  std::lock_guard lock(g_ca_mu);
  g_default_ca_file = std::move(path);
}

std::string HttpUrl::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" +
         std::to_string(port) + prefix;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  const std::string shown(url.substr(0, 200));
  auto starts = [&](std::string_view scheme) {
    return url.size() >= scheme.size() &&
           std::equal(scheme.begin(), scheme.end(), url.begin(), [](char a, char b) {
             return a == std::tolower(static_cast<unsigned char>(b));
           });
  };
  HttpUrl out;
  std::string_view rest;
  if (starts("http://")) {
    rest = url.substr(7);
  } else if (starts("https://")) {
    rest = url.substr(8);
    out.tls = true;
    out.port = 443;
  } else {
    return Status::Invalid("'" + shown + "' is not a URL like http://127.0.0.1:8080 or https://hub.example.net");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos || path.find_first_of("?#") != std::string_view::npos) {
    return Status::Invalid("'" + shown + "': only http[s]://HOST[:PORT][/PATH] is supported");
  }
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
  // RFC 3986 path characters only: no spaces, controls or bytes a request line cannot carry.
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || std::string_view("\"<>\\^`{|}").find(ch) != std::string_view::npos) {
      return Status::Invalid("'" + shown + "' has a character a URL path cannot hold");
    }
  }
  out.path = path.empty() ? std::string("/") : std::string(path);
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

  // TLS for https://: the context (verification settings) once, a stream per connection.
  std::string EnableTls(const std::string& ca_file_in) {
    std::string ca_file = ca_file_in;
    if (ca_file.empty()) {
      std::lock_guard lock(g_ca_mu);
      ca_file = g_default_ca_file;
    }
    ssl_ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ssl_ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
    ssl_ctx->set_verify_mode(asio::ssl::verify_peer);
    boost::system::error_code ec;
    if (ca_file.empty()) {
      ssl_ctx->set_default_verify_paths(ec);
    } else {
      ssl_ctx->load_verify_file(ca_file, ec);
    }
    if (ec) return "CA file '" + ca_file + "': " + ec.message();
    return "";
  }

  // The TLS handshake on the connected socket, checking the certificate and the host name.
  std::string Handshake() {
    tls = std::make_unique<asio::ssl::stream<beast::tcp_stream&>>(stream, *ssl_ctx);
    SSL* ssl = tls->native_handle();
    boost::system::error_code ip_ec;
    asio::ip::make_address(host, ip_ec);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip_ec) {  // a name: SNI, and the name must be in the certificate
      SSL_set_tlsext_host_name(ssl, host.c_str());
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1) {
        return "cannot check host name " + host;
      }
    } else if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
      return "cannot check IP address " + host;
    }
    auto ec = Run([&](auto handler) {
      tls->async_handshake(asio::ssl::stream_base::client, std::move(handler));
    });
    if (ec) {
      const long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK) {
        return std::string("TLS: the server's certificate is not trusted for ") + host + ": " +
               X509_verify_cert_error_string(verify);
      }
      return "TLS handshake: " + ec.message();
    }
    return "";
  }

  template <class Op>
  beast::error_code Io(Op op) {
    if (tls) return Run([&](auto handler) { op(*tls, std::move(handler)); });
    return Run([&](auto handler) { op(stream, std::move(handler)); });
  }

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
    tls.reset();
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
    if (ssl_ctx) {
      if (auto error = Handshake(); !error.empty()) {
        Close();
        return error;
      }
    }
    connected = true;
    ++connections_opened;
    return "";
  }

  ClientResponse Send(bhttp::request<bhttp::string_body>& req) {
    if (!tls_error.empty()) return TransportError("https://" + Endpoint(), tls_error);
    for (int attempt = 0;; ++attempt) {
      const bool reused = connected;
      if (!connected) {
        if (auto error = Connect(); !error.empty()) {
          return TransportError("connect to " + Endpoint(), error);
        }
      }
      auto ec = Io([&](auto& s, auto handler) { bhttp::async_write(s, req, std::move(handler)); });
      if (ec) {
        Close();
        if (reused && attempt == 0 && IsStaleConnection(ec)) continue;
        return TransportError("write to " + Endpoint(), ec.message());
      }
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(kBodyLimit);
      ec = Io([&](auto& s, auto handler) {
        bhttp::async_read(s, buffer, parser, std::move(handler));
      });
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
  std::unique_ptr<asio::ssl::context> ssl_ctx;                       // https only
  std::unique_ptr<asio::ssl::stream<beast::tcp_stream&>> tls;        // per connection
  std::string tls_error;  // the context could not be made (a bad CA file): every request fails
  bool connected = false;
  int64_t connections_opened = 0;
};

HttpClient::HttpClient(const std::string& host, uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(host, port, timeout)) {}

HttpClient::HttpClient(const HttpUrl& url, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(url.host, url.port, timeout)) {
  if (url.tls) impl_->tls_error = impl_->EnableTls(url.ca_file);
}

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
