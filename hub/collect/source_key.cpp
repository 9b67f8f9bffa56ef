#include "hub/collect/source_key.h"

#include <sodium.h>

#include "shared/protocol/keys.h"

namespace cjd::hub {

bool IsValidSourceName(std::string_view name) {
  if (name.empty() || name.size() > 40) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string NewSourceKey() { return std::string(kSourceKeyPrefix) + NewToken(); }

std::string SourceKeyHash(std::string_view key) {
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr, 0);
  return out;
}

}  // namespace cjd::hub
