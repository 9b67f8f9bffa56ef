// Shared by the fuzz targets: fixed keys (so a target can seal its input and reach the decoders
// behind a valid seal), and a check that stops the run with a message when an invariant breaks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shared/protocol/envelope.h"
#include "shared/protocol/keys.h"

namespace cjd::fuzz {

inline constexpr std::string_view kDeviceId = "pos-fuzz-01";
inline constexpr uint32_t kKeyId = 1;

// A fixed 32-byte key (bytes 0x11..0x30); never used outside tests.
const SymmetricKey& TestKey();
// A fixed nonce, so that the same input always makes the same frame (reproducible crashes).
const Nonce& TestNonce();

// Seals `plaintext` exactly as given (no compression is applied here: with `header.compressed`
// set, `plaintext` is taken to be the zstd frame, as a hostile sender could make it).
std::string SealForTest(const FrameHeader& header, std::string_view plaintext);

// Aborts with `what` on stderr (libFuzzer then saves the input as a crash).
[[noreturn]] void Fail(std::string_view what);

std::string_view AsText(const uint8_t* data, size_t size);

}  // namespace cjd::fuzz

#define CJD_FUZZ_CHECK(cond, what) \
  do {                             \
    if (!(cond)) ::cjd::fuzz::Fail(what); \
  } while (0)
