// UUIDv7 (RFC 9562): 48-bit big-endian Unix milliseconds, version 7, variant 0b10, and 74 random
// bits from libsodium's CSPRNG.
#include <sodium.h>

#include <cstdint>
#include <string>

#include "shared/event/event.h"

namespace cjd {
namespace {

void EnsureSodium() {
  // A function-local static is initialised exactly once, even with concurrent callers.
  // randombytes_buf works even if sodium_init fails (it then uses the system source directly).
  static const int kInit = sodium_init();
  (void)kInit;
}

}  // namespace

std::string NewEventId(int64_t now_ms) {
  EnsureSodium();
  unsigned char b[16];
  randombytes_buf(b + 6, 10);
  const uint64_t ts = static_cast<uint64_t>(now_ms) & 0xFFFF'FFFF'FFFFull;
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ts >> (8 * (5 - i)));
  b[6] = static_cast<unsigned char>(0x70 | (b[6] & 0x0F));  // version 7
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3F));  // variant 0b10
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  return out;
}

}  // namespace cjd
