#include "shared/protocol/keys.h"

#include <sodium.h>

#include <cstdlib>

namespace cjd {
namespace {

static_assert(crypto_kx_PUBLICKEYBYTES == 32 && crypto_kx_SECRETKEYBYTES == 32 &&
              crypto_kx_SESSIONKEYBYTES == 32);

constexpr size_t kTokenBytes = 32;

// The functions below that cannot return a Status (key generation, tokens) must never run on an
// uninitialised libsodium: sodium_init() failing means no usable randomness, so they abort.
void EnsureCrypto() {
  if (!InitCrypto().ok()) std::abort();
}

}  // namespace

Status InitCrypto() {
  // A function-local static is initialised exactly once, thread-safely (and sodium_init() is
  // itself idempotent and locked). The result is remembered, so later calls are one load.
  static const int result = sodium_init();
  if (result < 0) return Status::Crypto("libsodium failed to initialise (sodium_init)");
  return Status::Ok();
}

KeyPair NewKeyPair() {
  EnsureCrypto();
  KeyPair kp;
  crypto_kx_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

bool KeyPairMatches(const KeyPair& pair) {
  if (!InitCrypto().ok()) return false;
  PublicKey derived{};
  if (crypto_scalarmult_base(derived.data(), pair.secret_key.data()) != 0) return false;
  return sodium_memcmp(derived.data(), pair.public_key.data(), derived.size()) == 0;
}

Result<SessionKeys> DeviceSessionKeys(const KeyPair& device, const PublicKey& hub,
                                      uint32_t key_id) {
  CJD_RETURN_IF_ERROR(InitCrypto());
  SessionKeys keys;
  keys.key_id = key_id;
  // The device is the kx client: it transmits on the uplink and receives on the downlink.
  if (crypto_kx_client_session_keys(keys.downlink.data(), keys.uplink.data(),
                                    device.public_key.data(), device.secret_key.data(),
                                    hub.data()) != 0) {
    return Status::Crypto("hub public key is not acceptable for key exchange");
  }
  return keys;
}

Result<SessionKeys> HubSessionKeys(const KeyPair& hub, const PublicKey& device, uint32_t key_id) {
  CJD_RETURN_IF_ERROR(InitCrypto());
  SessionKeys keys;
  keys.key_id = key_id;
  // The hub is the kx server: it receives on the uplink and transmits on the downlink.
  if (crypto_kx_server_session_keys(keys.uplink.data(), keys.downlink.data(),
                                    hub.public_key.data(), hub.secret_key.data(),
                                    device.data()) != 0) {
    return Status::Crypto("device public key is not acceptable for key exchange");
  }
  return keys;
}

std::string KeyToBase64(const std::array<uint8_t, 32>& key) {
  constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL;
  char buf[sodium_base64_ENCODED_LEN(32, kVariant)];
  sodium_bin2base64(buf, sizeof buf, key.data(), key.size(), kVariant);
  return std::string(buf);
}

Result<std::array<uint8_t, 32>> KeyFromBase64(std::string_view text, std::string_view field) {
  std::array<uint8_t, 32> key{};
  size_t len = 0;
  // No ignore set and no end pointer: the whole text must be canonical, padded base64.
  if (text.empty() ||
      sodium_base642bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != key.size()) {
    sodium_memzero(key.data(), key.size());
    return Status::Invalid("must be a base64 32-byte key", std::string(field));
  }
  return key;
}

std::string NewToken() {
  EnsureCrypto();
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  unsigned char raw[kTokenBytes];
  randombytes_buf(raw, sizeof raw);
  char buf[sodium_base64_ENCODED_LEN(kTokenBytes, kVariant)];
  sodium_bin2base64(buf, sizeof buf, raw, sizeof raw, kVariant);
  sodium_memzero(raw, sizeof raw);
  return std::string(buf);
}

bool TokensEqual(std::string_view a, std::string_view b) {
  // Only the lengths may leak. An empty token never matches anything, so an unset secret cannot
  // be "guessed" by sending an empty one.
  if (a.size() != b.size() || a.empty()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cjd
