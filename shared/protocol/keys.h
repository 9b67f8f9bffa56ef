// Device and hub keys. Each device has an X25519 key pair; so has the hub. At provisioning the
// device learns the hub's public key and the hub the device's. Both sides derive the same two
// session keys with libsodium's crypto_kx (the device is the kx "client", the hub the "server"):
// `uplink` seals device -> hub frames, `downlink` seals hub -> device frames. A frame sealed in
// one direction therefore never opens in the other.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/core/status.h"

namespace cjd {

using PublicKey = std::array<uint8_t, 32>;
using SecretKey = std::array<uint8_t, 32>;
using SymmetricKey = std::array<uint8_t, 32>;

struct KeyPair {
  PublicKey public_key;
  SecretKey secret_key;
};

struct SessionKeys {
  uint32_t key_id = 0;     // which provisioning generation these keys belong to
  SymmetricKey uplink;     // device -> hub
  SymmetricKey downlink;   // hub -> device
};

// Calls sodium_init() once; returns an error if libsodium cannot start.
Status InitCrypto();

KeyPair NewKeyPair();
// True when `pair.public_key` is the public key of `pair.secret_key` (catches a config whose two
// keys were copied from different pairs).
bool KeyPairMatches(const KeyPair& pair);

Result<SessionKeys> DeviceSessionKeys(const KeyPair& device, const PublicKey& hub, uint32_t key_id);
Result<SessionKeys> HubSessionKeys(const KeyPair& hub, const PublicKey& device, uint32_t key_id);

// Keys in configs are base64 (libsodium's original variant, with padding).
std::string KeyToBase64(const std::array<uint8_t, 32>& key);
Result<std::array<uint8_t, 32>> KeyFromBase64(std::string_view text, std::string_view field);

// A random token for bearer authentication (32 random bytes, URL-safe base64, no padding).
std::string NewToken();
// Compares two tokens in constant time.
bool TokensEqual(std::string_view a, std::string_view b);

}  // namespace cjd
