#include "tests/faults/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace cjd::faults {
namespace {

constexpr int kPollMs = 50;
constexpr size_t kChunk = 64 * 1024;

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// One direction of a connection: bytes read from `from` wait in `buf` until `to` takes them.
struct Direction {
  int from = -1;
  int to = -1;
  std::string buf;
  bool eof = false;
};

}  // namespace

TcpProxy::TcpProxy(uint16_t upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error(std::string("proxy socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = Loopback(0);
  socklen_t len = sizeof a;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(listen_fd_);
    throw std::runtime_error("proxy listen: " + why);
  }
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() { Stop(); }

void TcpProxy::Stop() {
  if (stop_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> pumps;
  {
    std::lock_guard lock(mu_);
    pumps.swap(pumps_);
  }
  for (auto& t : pumps) t.join();
  ::close(listen_fd_);
}

void TcpProxy::AcceptLoop() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    accepted_.fetch_add(1);
    std::lock_guard lock(mu_);
    pumps_.emplace_back([this, fd] { Pump(fd); });
  }
}

void TcpProxy::Pump(int client_fd) {
  SetNonBlocking(client_fd);
  int upstream_fd = -1;
  Direction up;    // client -> broker
  Direction down;  // broker -> client
  while (!stop_.load()) {
    if (partitioned_.load()) {  // read nothing, send nothing, close nothing
      ::usleep(kPollMs * 1000);
      continue;
    }
    if (upstream_fd < 0) {  // connect once the link is up (a held connection, or a new one)
      upstream_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a = Loopback(upstream_port_);
      if (upstream_fd < 0 || ::connect(upstream_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        break;  // the broker is down: close the client, as a refused connection would
      }
      const int one = 1;
      ::setsockopt(upstream_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      SetNonBlocking(upstream_fd);
      up = Direction{client_fd, upstream_fd, {}, false};
      down = Direction{upstream_fd, client_fd, {}, false};
    }
    pollfd p[2] = {{client_fd, 0, 0}, {upstream_fd, 0, 0}};
    auto want = [](Direction& d, pollfd* from, pollfd* to) {
      if (d.buf.empty() && !d.eof) from->events |= POLLIN;
      if (!d.buf.empty()) to->events |= POLLOUT;
    };
    want(up, &p[0], &p[1]);
    want(down, &p[1], &p[0]);
    if (::poll(p, 2, kPollMs) < 0 && errno != EINTR) break;
    bool closed = false;
    for (Direction* d : {&up, &down}) {
      if (d->buf.empty() && !d->eof) {
        char chunk[kChunk];
        const ssize_t n = ::recv(d->from, chunk, sizeof chunk, 0);
        if (n > 0) d->buf.assign(chunk, static_cast<size_t>(n));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          d->eof = true;
        }
      }
      if (!d->buf.empty()) {
        const ssize_t n = ::send(d->to, d->buf.data(), d->buf.size(), MSG_NOSIGNAL);
        if (n > 0) {
          forwarded_.fetch_add(n);
          d->buf.erase(0, static_cast<size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          closed = true;
        }
      }
      if (d->eof && d->buf.empty()) closed = true;
    }
    if (closed) break;
  }
  if (upstream_fd >= 0) ::close(upstream_fd);
  ::close(client_fd);
}

}  // namespace cjd::faults
