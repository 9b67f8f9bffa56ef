// The hub's identity secret: one 32-byte master key in a file (identity.key, mode 0600, created
// on first start), from which two subkeys are derived with libsodium's KDF:
//  - the pepper of the keyed identifier hashes (identifier.h: PII is indexed by hash only);
//  - the key that seals identifier values at rest (XChaCha20-Poly1305 secretbox), so the profile
//    API can show an analyst "ann@example.com" while the database file holds no plain PII.
// Losing the file makes every identifier unmatchable: back it up with hub.key.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hub/identity/identifier.h"
#include "shared/core/status.h"

namespace cjd::hub {

struct IdentityKeys {
  identity::PepperKey pepper{};
  std::array<uint8_t, 32> seal_key{};
};

// Reads the master key (base64 text) from `path`, creating it (mode 0600) when missing.
Result<IdentityKeys> LoadOrCreateIdentityKeys(const std::string& path);
IdentityKeys DeriveIdentityKeys(const std::array<uint8_t, 32>& master);

// nonce (24 bytes) || ciphertext.
std::string SealValue(const IdentityKeys& keys, std::string_view plain);
Result<std::string> OpenValue(const IdentityKeys& keys, std::string_view sealed);

// A profile's attributes as profiles.db stores them (canonical JSON text): the hub's own keys
// ("$consent", which SQL reads) as they are, every customer attribute sealed into one
// "$sealed" value (base64 of SealValue of their canonical JSON), so the file holds no plain PII.
std::string SealAttributes(const IdentityKeys& keys, const nlohmann::json& attributes);
// The whole attributes object again (text stored before sealing is read as it is). An empty
// object for text that is not one or a seal that does not open.
nlohmann::json OpenAttributes(const IdentityKeys& keys, std::string_view stored);

}  // namespace cjd::hub
