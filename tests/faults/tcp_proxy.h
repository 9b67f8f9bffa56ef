// TcpProxy: a loopback TCP forwarder the test controls, for silent partitions. Clients (an agent's
// MQTT link) connect to port(); each connection is forwarded to 127.0.0.1:`upstream_port` (the
// broker). SetPartitioned(true) stops forwarding in both directions without closing or resetting
// anything: bytes stay unread in the kernel buffers (the senders' windows fill), new connections
// are accepted but not connected upstream, as when a link silently drops every packet. Once
// healed, what was held flows on (as TCP retransmission would deliver it) and held connections are
// connected upstream. Peers that gave up meanwhile close their side; the proxy then closes the
// other side.
//
// Threading: one accept thread and one thread per connection, all joined by Stop() (and the
// destructor). Every wait is bounded (poll with a short timeout re-checks the stop flag).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace cjd::faults {

class TcpProxy {
 public:
  // Listens on 127.0.0.1:0 at once; throws std::runtime_error on failure.
  explicit TcpProxy(uint16_t upstream_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }
  void SetPartitioned(bool partitioned) { partitioned_.store(partitioned); }
  bool partitioned() const { return partitioned_.load(); }
  int64_t connections_accepted() const { return accepted_.load(); }
  // Bytes forwarded so far (both directions).
  int64_t bytes_forwarded() const { return forwarded_.load(); }
  void Stop();

 private:
  void AcceptLoop();
  void Pump(int client_fd);

  const uint16_t upstream_port_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> partitioned_{false};
  std::atomic<int64_t> accepted_{0};
  std::atomic<int64_t> forwarded_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> pumps_;  // guarded by mu_
};

}  // namespace cjd::faults
