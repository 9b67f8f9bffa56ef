// Collect sources: the e-commerce, marketing, CRM and support systems that post events to the
// hub's POST /v1/collect, each with its own key (`cjdctl add-source`).
//
// A key is `cjds_` + 32 random bytes in unpadded base64url (48 characters in all). The hub never
// stores a key, only SourceKeyHash(key): a leaked hub.db does not let anyone post as a source.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace cjd::hub {

inline constexpr std::string_view kSourceKeyPrefix = "cjds_";

// 1..40 characters of [A-Za-z0-9._-].
bool IsValidSourceName(std::string_view name);

// A new random source key (libsodium randombytes_buf). REQUIRES: InitCrypto() succeeded.
std::string NewSourceKey();

// BLAKE2b-256 (libsodium crypto_generichash, unkeyed) of the key text: 32 raw bytes.
std::string SourceKeyHash(std::string_view key);

}  // namespace cjd::hub
