#include "tests/support/http_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <stdexcept>
#include <strings.h>

namespace cjd::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr uint64_t kBodyLimit = 1ull << 30;  // exports in benchmarks can be large

asio::ip::address LoopbackAddress(const std::string& host) {
  if (host == "localhost") return asio::ip::make_address("127.0.0.1");
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec || !address.is_loopback()) {
    throw std::invalid_argument("HttpClient: '" + host + "' is not a loopback address");
  }
  return address;
}

// A reused keep-alive connection that the server had already closed fails like this.
bool IsStaleConnection(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

HttpResponse TransportError(const std::string& what, const beast::error_code& ec) {
  HttpResponse r;
  r.status = 0;
  r.body = what + ": " + ec.message();
  return r;
}

}  // namespace

bool HeaderNameLess::operator()(const std::string& a, const std::string& b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  });
}

nlohmann::json HttpResponse::Json() const {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return nlohmann::json();
  return j;
}

struct HttpClient::Impl {
  Impl(asio::ip::address address, uint16_t port_in, std::chrono::milliseconds timeout_in)
      : endpoint(address, port_in), timeout(timeout_in) {}

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

  beast::error_code Connect() {
    Close();
    auto ec = Run([&](auto handler) { stream.async_connect(endpoint, std::move(handler)); });
    if (!ec) {
      stream.socket().set_option(tcp::no_delay(true), ec);
      ec = {};
      connected = true;
    }
    return ec;
  }

  HttpResponse Send(http::request<http::string_body>& req) {
    for (int attempt = 0;; ++attempt) {
      const bool reused = connected;
      if (!connected) {
        if (auto ec = Connect()) return TransportError("connect to " + Endpoint(), ec);
      }
      auto ec = Run([&](auto handler) { http::async_write(stream, req, std::move(handler)); });
      if (ec) {
        Close();
        if (reused && attempt == 0 && IsStaleConnection(ec)) continue;
        return TransportError("write to " + Endpoint(), ec);
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(kBodyLimit);
      ec = Run([&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
      if (ec) {
        const bool nothing_received = !parser.got_some();
        Close();
        if (reused && attempt == 0 && nothing_received && IsStaleConnection(ec)) continue;
        return TransportError("read from " + Endpoint(), ec);
      }
      auto res = parser.release();
      HttpResponse out;
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
    return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  tcp::endpoint endpoint;
  std::chrono::milliseconds timeout;
  bool connected = false;
};

HttpClient::HttpClient(uint16_t port, std::chrono::milliseconds timeout)
    : HttpClient("127.0.0.1", port, timeout) {}

HttpClient::HttpClient(const std::string& host, uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(LoopbackAddress(host), port, timeout)) {}

HttpClient::~HttpClient() {
  if (impl_) impl_->Close();
}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

HttpResponse HttpClient::Request(const std::string& method, const std::string& target,
                                 const std::string& body, const Headers& headers) {
  http::request<http::string_body> req;
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(target);
  req.version(11);
  req.set(http::field::host, impl_->Endpoint());
  req.set(http::field::user_agent, "cjd-testsupport");
  req.keep_alive(true);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
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

HttpResponse HttpClient::Get(const std::string& target, const std::string& bearer_token) {
  return Request("GET", target, "", Bearer(bearer_token));
}
HttpResponse HttpClient::Post(const std::string& target, const std::string& body,
                              const std::string& bearer_token) {
  return Request("POST", target, body, Bearer(bearer_token));
}
HttpResponse HttpClient::Put(const std::string& target, const std::string& body,
                             const std::string& bearer_token) {
  return Request("PUT", target, body, Bearer(bearer_token));
}
HttpResponse HttpClient::Delete(const std::string& target, const std::string& bearer_token) {
  return Request("DELETE", target, "", Bearer(bearer_token));
}

void HttpClient::set_timeout(std::chrono::milliseconds timeout) { impl_->timeout = timeout; }
uint16_t HttpClient::port() const { return impl_->endpoint.port(); }
void HttpClient::Close() { impl_->Close(); }

}  // namespace cjd::testing
