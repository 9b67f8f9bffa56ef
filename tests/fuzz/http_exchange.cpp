#include "tests/fuzz/http_exchange.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "tests/fuzz/fuzz_support.h"

namespace cjd::fuzz {
namespace {

constexpr int kTimeoutMs = 20'000;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int RemainingMs(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

}  // namespace

const std::string& TempDir(std::string_view name) {
  static const std::string dir = [name] {
    const std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string d = base + "/cjd-fuzz-" + std::string(name) + "-" + std::to_string(::getpid());
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    static const std::string for_exit = d;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(for_exit, ec);
    });
    return d;
  }();
  return dir;
}

std::string Exchange(uint16_t port, std::string_view request) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
  Fd s;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A loopback connect fails only for lack of local resources (ports, descriptors) or when the
  // listener is gone; retry the first for a while, bounded by the deadline.
  for (;;) {
    s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s.fd >= 0 && ::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    const int err = errno;
    if (s.fd >= 0) ::close(s.fd);
    s.fd = -1;
    if (RemainingMs(deadline) == 0) {
      Fail(std::string("cannot connect to the server under test: ") + std::strerror(err));
    }
    ::usleep(20'000);
  }
  // Send and read at once: the server may answer (413, 400) before the request ends.
  std::string response;
  size_t sent = 0;
  bool write_closed = false;
  char buf[16 * 1024];
  for (;;) {
    if (sent == request.size() && !write_closed) {
      ::shutdown(s.fd, SHUT_WR);
      write_closed = true;
    }
    pollfd p{s.fd, static_cast<short>(POLLIN | (write_closed ? 0 : POLLOUT)), 0};
    const int remaining = RemainingMs(deadline);
    const int ready = remaining == 0 ? 0 : ::poll(&p, 1, remaining);
    // libFuzzer's -timeout alarm (SIGALRM) interrupts whichever thread it lands on: try again.
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      Fail("the server neither answered nor closed within 20 s; request: " +
           std::string(request.substr(0, 200)));
    }
    if (p.revents & POLLIN || p.revents & POLLHUP || p.revents & POLLERR) {
      const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // closed (or reset after an early error answer)
      response.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (p.revents & POLLOUT) {
      const ssize_t n = ::send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        write_closed = true;  // the server closed its side; read what it said
        sent = request.size();
        continue;
      }
      sent += static_cast<size_t>(n);
    }
  }
  // Close with a reset: no TIME_WAIT left behind, so ports are not used up over millions of runs.
  linger l{1, 0};
  ::setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  static const std::regex k500("(^|\r\n)HTTP/1\\.[01] 500 ");
  if (std::regex_search(response, k500)) {
    Fail("the server answered 500:\n" + response.substr(0, 2000) + "\nto:\n" +
         std::string(request.substr(0, 2000)));
  }
  return response;
}

}  // namespace cjd::fuzz
