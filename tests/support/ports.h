// Loopback ports for tests: pick a free one, wait for a listener. 127.0.0.1 only, always.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>

namespace cjd::testing {

// Binds 127.0.0.1:0, reads the port the kernel chose and closes the socket. The port is free at
// that moment only, so a caller that loses the race should retry with another one. Never
// returns the same port twice in one process. Throws std::runtime_error if no socket can be bound.
uint16_t FreeLoopbackPort();

// True once something accepts a TCP connection on 127.0.0.1:`port` (a loopback self-connect
// does not count), false when `timeout` passes first.
bool WaitForPort(uint16_t port, std::chrono::milliseconds timeout);

// True if a listener could bind 127.0.0.1:`port` now (with SO_REUSEADDR, as Mosquitto and
// Beast listeners do), i.e. nobody is listening on it any more.
bool LoopbackPortBindable(uint16_t port);

// True if process `pid` itself holds a TCP socket listening on `port` (read from /proc/net/tcp{,6}
// and /proc/<pid>/fd; Linux only, needs permission to read the process's fds: a child of ours).
// Tells "our broker is up" apart from "someone else already listened there".
bool ProcessListensOn(pid_t pid, uint16_t port);

}  // namespace cjd::testing
