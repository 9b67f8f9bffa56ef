// Server: owns the io_context, its threads and the listener; see server.h for the threading
// contract.
//
// Shutdown order matters because a Responder may outlive the server:
//   1. stop the io_context and join its threads (no handler runs any more), then close the post
//      gate (ServerState::PostIfOpen), waiting for a Responder that is posting from another
//      thread;
//   2. close the acceptor and every session, detaching each PendingReply so that a late
//      Responder call finds nothing to post to;
//   3. (~Server) destroy the io_context, which destroys the handlers still queued and with them
//      the last sessions.
#include "shared/http/server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <exception>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "shared/core/thread_name.h"
#include "shared/http/listener.h"
#include "shared/http/server_state.h"
#include "shared/http/session.h"

namespace cjd::http {
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Server::Impl {
  Impl(ServerOptions options, Handler handler, Authorizer authorize)
      : state(std::make_shared<ServerState>(std::move(options), std::move(handler),
                                            std::move(authorize))),
        ioc(std::max(1, state->options().threads)) {}

  Status Resolve(tcp::endpoint* endpoint);
  void RunThread();

  std::shared_ptr<ServerState> state;
  net::io_context ioc;  // declared after state, before everything that uses it
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  std::mutex mu;  // serializes Start() and Stop()
  bool started = false;
  bool stopped = false;
  uint16_t port = 0;
};

Status Server::Impl::Resolve(tcp::endpoint* endpoint) {
  const HostPort& listen = state->options().listen;
  boost::system::error_code ec;
  net::ip::address address = net::ip::make_address(listen.host, ec);
  if (!ec) {
    *endpoint = tcp::endpoint(address, listen.port);
    return Status::Ok();
  }
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(listen.host, std::to_string(listen.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Status::Io("cannot listen on " + listen.ToString() + ": " +
                      (ec ? ec.message() : std::string("host not found")));
  }
  *endpoint = results.begin()->endpoint();
  return Status::Ok();
}

namespace {

// max_connections needs as many file descriptors, plus the process's own (databases, MQTT, logs):
// raise the soft limit towards the hard one when it is lower. When it stays too low, accepting
// fails with EMFILE and the listener evicts idle connections to make room.
void RaiseFileLimitFor(size_t connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t want = static_cast<rlim_t>(connections) + 256;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < want) {
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? want : std::min(want, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

void Server::Impl::RunThread() {
  NameThisThread("http");
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      // Handlers are not supposed to throw (the user's handler is wrapped); keep serving.
      std::cerr << "cjd http: exception on an I/O thread: " << e.what() << "\n";
    }
  }
}

Server::Server(ServerOptions options, Handler handler, Authorizer authorize)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(authorize))) {}

Server::~Server() { Stop(); }

Status Server::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->started || impl_->stopped) return Status::Internal("http server already started");
  tcp::endpoint endpoint;
  CJD_RETURN_IF_ERROR(impl_->Resolve(&endpoint));
  RaiseFileLimitFor(impl_->state->options().max_connections);
  auto listener = std::make_shared<Listener>(impl_->ioc, impl_->state);
  if (auto ec = listener->Listen(endpoint)) {
    return Status::Io("cannot listen on " + impl_->state->options().listen.ToString() + ": " +
                      ec.message());
  }
  impl_->listener = std::move(listener);
  impl_->port = impl_->listener->port();
  impl_->started = true;
  impl_->listener->Run();
  impl_->work.emplace(impl_->ioc.get_executor());
  const int n = std::max(1, impl_->state->options().threads);
  impl_->threads.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) impl_->threads.emplace_back([impl = impl_.get()] { impl->RunThread(); });
  return Status::Ok();
}

uint16_t Server::port() const { return impl_->port; }

void Server::Stop() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->work.reset();
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->state->ClosePosts();  // waits for a Responder posting from another thread
  if (impl_->listener != nullptr) impl_->listener->CloseForStop();
  std::vector<std::shared_ptr<Session>> sessions = impl_->state->BeginStop();
  for (const auto& session : sessions) session->CloseForStop();
  // `sessions` goes out of scope here: those held only by it are destroyed on this thread,
  // which is safe now that no I/O thread runs.
}

}  // namespace cjd::http
