// Private to shared/http: accepts connections and starts a Session for each, every connection on
// its own strand. At max_connections a new connection replaces the longest-idle one, or is closed
// at once when none is idle.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <cstdint>
#include <memory>

#include "shared/http/server_state.h"

namespace cjd::http {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& ioc, std::shared_ptr<ServerState> state);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Opens, binds (SO_REUSEADDR) and listens. REQUIRES: not yet running.
  boost::beast::error_code Listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // The bound port. REQUIRES: Listen() succeeded.
  uint16_t port() const;
  // Starts accepting on the listener's strand.
  void Run();
  // Closes the acceptor. REQUIRES: the I/O threads are stopped (Server::Stop()).
  void CloseForStop();

 private:
  void DoAccept();
  void OnAccept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);
  void Fail(boost::beast::error_code ec, const char* where);

  boost::asio::io_context& ioc_;
  std::shared_ptr<ServerState> state_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;  // after an accept error (e.g. out of file descriptors)
  uint16_t port_ = 0;
};

}  // namespace cjd::http
