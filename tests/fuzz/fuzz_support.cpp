#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

namespace cjd::fuzz {

const SymmetricKey& TestKey() {
  static const SymmetricKey key = [] {
    SymmetricKey k{};
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(0x11 + i);
    return k;
  }();
  return key;
}

const Nonce& TestNonce() {
  static const Nonce nonce = [] {
    Nonce n{};
    for (size_t i = 0; i < n.size(); ++i) n[i] = static_cast<uint8_t>(0xa0 + i);
    return n;
  }();
  return nonce;
}

std::string SealForTest(const FrameHeader& header, std::string_view plaintext) {
  if (!InitCrypto().ok()) Fail("libsodium did not start");
  return SealFrameWithNonce(header, kDeviceId, plaintext, TestKey(), TestNonce());
}

void Fail(std::string_view what) {
  std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace cjd::fuzz
