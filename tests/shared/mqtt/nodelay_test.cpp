// Nagle off on the MQTT connection (shared/mqtt/nodelay.h): the broker port from Paho's address
// forms, and TCP_NODELAY set on exactly the sockets connected to that port.
#include "shared/mqtt/nodelay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace cjd {
namespace {

TEST(BrokerPort, ReadsPahoAddressForms) {
  EXPECT_EQ(BrokerPort("tcp://127.0.0.1:1884"), 1884);
  EXPECT_EQ(BrokerPort("tcp://broker.example.com"), 1883);
  EXPECT_EQ(BrokerPort("mqtt://localhost"), 1883);
  EXPECT_EQ(BrokerPort("ssl://hub.example.com"), 8883);
  EXPECT_EQ(BrokerPort("mqtts://hub.example.com:9999"), 9999);
  EXPECT_EQ(BrokerPort("ssl://[::1]:8884"), 8884);
  EXPECT_EQ(BrokerPort("tcp://[::1]"), 1883);
  EXPECT_EQ(BrokerPort("tcp://h:1883/"), 1883);
  for (const char* bad : {"", "127.0.0.1:1883", "http://h:80", "tcp://", "tcp://h:", "tcp://h:0",
                          "tcp://h:65536", "tcp://h:12a", "tcp://[::1", "tcp://[::1]x"}) {
    EXPECT_EQ(BrokerPort(bad), std::nullopt) << bad;
  }
}

int NoDelay(int fd) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
  return v;
}

// A loopback listener and one client connected to it.
struct Pair {
  int listener = -1, client = -1, accepted = -1;
  uint16_t port = 0;
  Pair() {
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listener, 4), 0);
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port = ntohs(a.sin_port);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    accepted = ::accept(listener, nullptr, nullptr);
  }
  ~Pair() {
    for (int fd : {client, accepted, listener}) {
      if (fd >= 0) ::close(fd);
    }
  }
};

TEST(DisableNagleTowards, SetsItOnTheSocketsToThatPortOnly) {
  Pair broker, other;
  ASSERT_GE(broker.accepted, 0);
  ASSERT_GE(other.accepted, 0);
  EXPECT_EQ(NoDelay(broker.client), 0);  // the kernel's default: Nagle on
  EXPECT_EQ(DisableNagleTowards(broker.port), 1);
  EXPECT_NE(NoDelay(broker.client), 0);
  // The accepted end's peer is the client's ephemeral port, the listener has no peer, and a
  // connection to another port is left alone.
  EXPECT_EQ(NoDelay(broker.accepted), 0);
  EXPECT_EQ(NoDelay(other.client), 0);
  // Already set: nothing more to change.
  EXPECT_EQ(DisableNagleTowards(broker.port), 0);
}

}  // namespace
}  // namespace cjd
