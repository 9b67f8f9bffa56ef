#include "hub/identity/identifier.h"

#include <sodium.h>

#include <algorithm>
#include <string>

namespace cjd::hub::identity {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool IsControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7F;
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

Status Bad(IdType type, std::string message) {
  return Status::Invalid(std::move(message), std::string("identifier.") + IdTypeName(type));
}

bool IsAtext(char c) {
  if (static_cast<unsigned char>(c) >= 0x80) return true;  // UTF-8 (RFC 6531)
  if ((c >= 'a' && c <= 'z') || IsDigit(c)) return true;
  return std::string_view("!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos;
}

bool ValidLocalPart(std::string_view local) {
  if (local.empty() || local.size() > 64) return false;
  if (local.front() == '.' || local.back() == '.') return false;
  if (local.find("..") != std::string_view::npos) return false;
  return std::all_of(local.begin(), local.end(), [](char c) { return c == '.' || IsAtext(c); });
}

bool ValidDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  int labels = 0;
  std::string_view last;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    const std::string_view label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || IsDigit(c) || c == '-' ||
                      static_cast<unsigned char>(c) >= 0x80;
      if (!ok) return false;
    }
    ++labels;
    last = label;
    start = end + 1;
  }
  if (labels < 2) return false;
  return !std::all_of(last.begin(), last.end(), IsDigit);  // no numeric TLD (IP literals)
}

Result<std::string> NormalizeEmail(std::string_view raw) {
  std::string s;
  s.reserve(raw.size());
  for (char c : Trim(raw)) s.push_back(Lower(c));
  if (s.rfind("mailto:", 0) == 0) s.erase(0, 7);
  for (char c : s) {
    if (IsSpace(c) || IsControl(c)) return Bad(IdType::kEmail, "email contains whitespace");
  }
  if (s.empty()) return Bad(IdType::kEmail, "email is empty");
  if (s.size() > 254) return Bad(IdType::kEmail, "email is longer than 254 bytes");
  const size_t at = s.find('@');
  if (at == std::string::npos || s.find('@', at + 1) != std::string::npos) {
    return Bad(IdType::kEmail, "email must contain exactly one '@'");
  }
  if (!ValidLocalPart(std::string_view(s).substr(0, at))) {
    return Bad(IdType::kEmail, "email has an invalid local part");
  }
  if (!ValidDomain(std::string_view(s).substr(at + 1))) {
    return Bad(IdType::kEmail, "email has an invalid domain");
  }
  return s;
}

Result<std::string> NormalizeToken(IdType type, std::string_view raw, bool collapse_spaces) {
  std::string out;
  bool pending_space = false;
  for (char c : Trim(raw)) {
    if (collapse_spaces && IsSpace(c)) {
      pending_space = true;
      continue;
    }
    if (IsControl(c)) return Bad(type, std::string(IdTypeName(type)) + " contains control characters");
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  if (out.empty()) return Bad(type, std::string(IdTypeName(type)) + " is empty");
  return out;
}

void EnsureSodium() {
  static const int kInit = sodium_init();
  (void)kInit;
}

}  // namespace

const char* IdTypeName(IdType t) {
  switch (t) {
    case IdType::kLoyaltyId: return "loyalty_id";
    case IdType::kCustomerId: return "customer_id";
    case IdType::kEmail: return "email";
    case IdType::kPhone: return "phone";
    case IdType::kCardFingerprint: return "card_fingerprint";
    case IdType::kAnonymousId: return "anonymous_id";
  }
  return "unknown";
}

std::optional<IdType> ParseIdType(std::string_view name) {
  for (IdType t : kAllIdTypes) {
    if (name == IdTypeName(t)) return t;
  }
  return std::nullopt;
}

bool IsPii(IdType t) { return t != IdType::kAnonymousId; }

int Priority(IdType t) {
  switch (t) {
    case IdType::kLoyaltyId: return 6;
    case IdType::kCustomerId: return 5;
    case IdType::kCardFingerprint: return 4;
    case IdType::kEmail: return 3;
    case IdType::kPhone: return 2;
    case IdType::kAnonymousId: return 1;
  }
  return 0;
}

Result<std::string> NormalizeNonPhone(IdType type, std::string_view raw) {
  Result<std::string> out = [&]() -> Result<std::string> {
    switch (type) {
      case IdType::kEmail: return NormalizeEmail(raw);
      case IdType::kPhone:
        return Bad(type, "phone numbers are normalised by Normalize() (libphonenumber)");
      case IdType::kLoyaltyId:
      case IdType::kCustomerId: return NormalizeToken(type, raw, /*collapse_spaces=*/true);
      case IdType::kCardFingerprint:
      case IdType::kAnonymousId: return NormalizeToken(type, raw, /*collapse_spaces=*/false);
    }
    return Status::Invalid("unknown identifier type", "identifier");
  }();
  if (out.ok() && out->size() > kMaxIdentifierLength) {
    return Bad(type, std::string(IdTypeName(type)) + " is longer than 256 bytes");
  }
  return out;
}

IdKey IdentifierKey(IdType type, std::string_view normalized, const PepperKey& pepper) {
  EnsureSodium();
  crypto_generichash_state state;
  crypto_generichash_init(&state, pepper.data(), pepper.size(), 16);
  const unsigned char tag = static_cast<unsigned char>(type);
  crypto_generichash_update(&state, &tag, 1);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(normalized.data()),
                            normalized.size());
  IdKey out{};
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

std::string KeyHex(const IdKey& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(key.size() * 2);
  for (uint8_t b : key) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0F]);
  }
  return out;
}

Result<IdKey> KeyFromHex(std::string_view hex) {
  if (hex.size() != 32) return Status::Invalid("identifier key must be 32 hex digits", "key");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  IdKey out{};
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::Invalid("identifier key must be 32 hex digits", "key");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace cjd::hub::identity
