// For the HTTP targets: a fresh temp dir per fuzz process and one raw exchange with a server on
// loopback (the real shared/http session code: Beast's parser with the project's limits, target
// and header handling, then the real API handler).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cjd::fuzz {

// A directory for this process (on /dev/shm when it exists), removed at exit.
const std::string& TempDir(std::string_view name);

// Connects to 127.0.0.1:`port`, sends `request` as it is, closes the sending side and reads until
// the server closes. Fails (aborts) when the server neither answers nor closes within 20 s, or
// when it answers 500 (a handler that threw, or dropped its request).
std::string Exchange(uint16_t port, std::string_view request);

}  // namespace cjd::fuzz
