// The accept loop, in the style of the Boost.Beast 1.74 async server example.
#include "shared/http/listener.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include <chrono>
#include <iostream>

#include "shared/http/session.h"

namespace cjd::http {
namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
// Pause before accepting again after an error, so that running out of file descriptors does not
// turn into a busy loop.
constexpr std::chrono::milliseconds kAcceptBackoff{100};
}  // namespace

Listener::Listener(net::io_context& ioc, std::shared_ptr<ServerState> state)
    : ioc_(ioc),
      state_(std::move(state)),
      acceptor_(net::make_strand(ioc)),
      backoff_(acceptor_.get_executor()) {}

beast::error_code Listener::Listen(const tcp::endpoint& endpoint) {
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return ec;
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return ec;
  acceptor_.bind(endpoint, ec);
  if (ec) return ec;
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  port_ = acceptor_.local_endpoint(ec).port();
  return ec;
}

uint16_t Listener::port() const { return port_; }

void Listener::Run() {
  net::dispatch(acceptor_.get_executor(),
                beast::bind_front_handler(&Listener::DoAccept, shared_from_this()));
}

void Listener::CloseForStop() {
  beast::error_code ec;
  acceptor_.close(ec);
  backoff_.cancel();
}

void Listener::DoAccept() {
  // Each connection gets its own strand.
  acceptor_.async_accept(net::make_strand(ioc_),
                         beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
}

void Listener::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    Fail(ec, "accept");
    // Out of file descriptors: the longest-idle connection makes room for the next accept.
    if (ec == net::error::no_descriptors) {
      if (auto victim = state_->EvictOldestIdle()) victim->Evict();
    }
    backoff_.expires_after(kAcceptBackoff);
    backoff_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec) self->DoAccept();
    });
    return;
  }
  auto session = std::make_shared<Session>(std::move(socket), state_);
  // At max_connections the longest-idle session makes room; refused (all busy, or stopping): the
  // session and its socket are dropped here.
  std::shared_ptr<Session> evict;
  if (state_->Register(session, &evict)) session->Run();
  if (evict != nullptr) evict->Evict();
  DoAccept();
}

void Listener::Fail(beast::error_code ec, const char* where) {
  std::cerr << "cjd http: " << where << ": " << ec.message() << "\n";
}

}  // namespace cjd::http
