#include "shared/mqtt/nodelay.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace cjd {

std::optional<uint16_t> BrokerPort(std::string_view broker) {
  const size_t scheme_end = broker.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = broker.substr(0, scheme_end);
  uint16_t fallback = 0;
  if (scheme == "tcp" || scheme == "mqtt") {
    fallback = 1883;
  } else if (scheme == "ssl" || scheme == "mqtts") {
    fallback = 8883;
  } else {
    return std::nullopt;
  }
  std::string_view rest = broker.substr(scheme_end + 3);
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    rest = rest.substr(0, slash);
  }
  if (rest.empty()) return std::nullopt;
  size_t host_end = 0;
  if (rest.front() == '[') {  // [v6]:port
    host_end = rest.find(']');
    if (host_end == std::string_view::npos) return std::nullopt;
    ++host_end;
  } else {
    host_end = rest.find(':');
    if (host_end == std::string_view::npos) host_end = rest.size();
  }
  if (host_end == rest.size()) return fallback;
  if (rest[host_end] != ':') return std::nullopt;
  const std::string_view digits = rest.substr(host_end + 1);
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

int DisableNagleTowards(uint16_t port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  const int dir_fd = ::dirfd(dir);
  int changed = 0;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd < 0 || fd == dir_fd) continue;
    const int s = static_cast<int>(fd);
    int type = 0;
    socklen_t len = sizeof type;
    if (::getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) continue;
    sockaddr_storage peer{};
    len = sizeof peer;
    if (::getpeername(s, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    uint16_t peer_port = 0;
    if (peer.ss_family == AF_INET) {
      peer_port = ntohs(reinterpret_cast<const sockaddr_in*>(&peer)->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      peer_port = ntohs(reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_port);
    } else {
      continue;
    }
    if (peer_port != port) continue;
    int nodelay = 0;
    len = sizeof nodelay;
    if (::getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len) != 0 || nodelay != 0) continue;
    const int one = 1;
    if (::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) ++changed;
  }
  ::closedir(dir);
  return changed;
}

}  // namespace cjd
