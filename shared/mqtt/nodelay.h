// Nagle off on the MQTT connection. Paho C opens its TCP socket without TCP_NODELAY and has no
// option for it, so each small frame written while the previous one is still unacknowledged by
// the peer waits for the peer's delayed ACK: measured with `cjd-bench fleet`, a sale's ack came
// back after ~41 ms at store rates (the kernel's 40 ms delayed-ACK floor) and ~10 ms once traffic
// was dense enough to keep the connection busy. Mosquitto has `set_tcp_nodelay` for its side
// (device-configs/mosquitto.conf sets it); this is the client side: after a connect, the link
// sets TCP_NODELAY on this process's TCP sockets whose peer is the broker's port (only MQTT
// connections go there; setting the option on a socket is harmless to whoever owns it).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cjd {

// The TCP port of a Paho broker address: "tcp://host:1883", "ssl://[::1]:8883", "mqtt://host"
// (1883 when absent), "mqtts://host" / "ssl://host" (8883 when absent). nullopt when the text
// is not such an address.
std::optional<uint16_t> BrokerPort(std::string_view broker);

// Sets TCP_NODELAY on every TCP socket of this process connected to peer port `port` that does
// not have it yet. Returns how many it changed.
int DisableNagleTowards(uint16_t port);

}  // namespace cjd
