#include "tests/support/http_client.h"

#include <boost/asio/ip/address.hpp>
#include <stdexcept>

namespace cjd::testing {
namespace {

// The loopback address to use for `host`; throws for anything that is not loopback.
std::string LoopbackHost(const std::string& host) {
  if (host == "localhost") return "127.0.0.1";
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec || !address.is_loopback()) {
    throw std::invalid_argument("HttpClient: '" + host + "' is not a loopback address");
  }
  return host;
}

}  // namespace

HttpClient::HttpClient(uint16_t port, std::chrono::milliseconds timeout)
    : HttpClient("127.0.0.1", port, timeout) {}

HttpClient::HttpClient(const std::string& host, uint16_t port, std::chrono::milliseconds timeout)
    : cjd::http::HttpClient(LoopbackHost(host), port, timeout) {
  set_user_agent("cjd-testsupport");
}

}  // namespace cjd::testing
