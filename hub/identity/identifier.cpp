#include "hub/identity/identifier.h"

#include <sodium.h>

#include <algorithm>
#include <string>

namespace cjd::hub::identity {
namespace {

// Calling codes, national trunk prefixes and international (IDD) prefixes. Calling codes are
// prefix-free (ITU-T E.164), so the first match on the leading 1-3 digits is the only one.
constexpr CountryDialing kCountries[] = {
    {"GB", "44", "0", "00"},   {"IE", "353", "0", "00"},  {"FR", "33", "0", "00"},
    {"DE", "49", "0", "00"},   {"ES", "34", "", "00"},    {"PT", "351", "", "00"},
    {"IT", "39", "", "00"},    {"NL", "31", "0", "00"},   {"BE", "32", "0", "00"},
    {"LU", "352", "", "00"},   {"CH", "41", "0", "00"},   {"AT", "43", "0", "00"},
    {"DK", "45", "", "00"},    {"SE", "46", "0", "00"},   {"NO", "47", "", "00"},
    {"FI", "358", "0", "00"},  {"IS", "354", "", "00"},   {"PL", "48", "", "00"},
    {"CZ", "420", "", "00"},   {"SK", "421", "0", "00"},  {"HU", "36", "06", "00"},
    {"RO", "40", "0", "00"},   {"BG", "359", "0", "00"},  {"GR", "30", "", "00"},
    {"HR", "385", "0", "00"},  {"SI", "386", "0", "00"},  {"RS", "381", "0", "00"},
    {"TR", "90", "0", "00"},   {"UA", "380", "0", "00"},  {"RU", "7", "8", "810"},
    {"EE", "372", "", "00"},   {"LV", "371", "", "00"},   {"MT", "356", "", "00"},
    {"CY", "357", "", "00"},   {"US", "1", "1", "011"},   {"CA", "1", "1", "011"},
    {"MX", "52", "", "00"},    {"BR", "55", "0", "00"},   {"AR", "54", "0", "00"},
    {"AU", "61", "0", "0011"}, {"NZ", "64", "0", "00"},   {"JP", "81", "0", "010"},
    {"KR", "82", "0", "001"},  {"CN", "86", "0", "00"},   {"HK", "852", "", "001"},
    {"SG", "65", "", "000"},   {"IN", "91", "0", "00"},   {"MY", "60", "0", "00"},
    {"TH", "66", "0", "001"},  {"PH", "63", "0", "00"},   {"ID", "62", "0", "001"},
    {"VN", "84", "0", "00"},   {"AE", "971", "0", "00"},  {"SA", "966", "0", "00"},
    {"IL", "972", "0", "00"},  {"ZA", "27", "0", "00"},   {"EG", "20", "0", "00"},
    {"NG", "234", "0", "009"}, {"KE", "254", "0", "000"}, {"MA", "212", "0", "00"},
};

constexpr size_t kMinPhoneDigits = 8;   // shortest E.164 number accepted (digits after '+')
constexpr size_t kMaxPhoneDigits = 15;  // E.164 maximum

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

// The table entry whose calling code starts `digits` (international digits, without '+').
const CountryDialing* CountryByCallingCode(std::string_view digits) {
  for (size_t len = 1; len <= 3 && len <= digits.size(); ++len) {
    for (const auto& c : kCountries) {
      if (c.calling_code == digits.substr(0, len)) return &c;
    }
  }
  return nullptr;
}

Result<std::string> NormalizePhone(std::string_view raw, const NormalizeOptions& options) {
  const std::string_view s = Trim(raw);
  bool international = false;
  std::string digits;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (IsDigit(c)) {
      digits.push_back(c);
    } else if (c == '+' && digits.empty() && !international) {
      international = true;
    } else if (!(c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/')) {
      return Bad(IdType::kPhone, "phone contains a character other than digits and separators");
    }
  }
  if (digits.empty()) return Bad(IdType::kPhone, "phone has no digits");
  const std::optional<CountryDialing> home = FindCountry(options.default_country);
  if (!international) {
    if (home && digits.size() > home->intl_prefix.size() &&
        digits.compare(0, home->intl_prefix.size(), home->intl_prefix) == 0) {
      digits.erase(0, home->intl_prefix.size());
      international = true;
    } else if (digits.size() > 2 && digits.compare(0, 2, "00") == 0) {
      digits.erase(0, 2);
      international = true;
    }
  }
  if (!international) {
    if (!home) {
      return Bad(IdType::kPhone,
                 "phone has no international prefix and no known default country");
    }
    if (!home->trunk_prefix.empty() && digits.size() > home->trunk_prefix.size() &&
        digits.compare(0, home->trunk_prefix.size(), home->trunk_prefix) == 0) {
      digits.erase(0, home->trunk_prefix.size());
    }
    digits.insert(0, home->calling_code);
  } else {
    if (digits.front() == '0') return Bad(IdType::kPhone, "country code cannot start with 0");
    const CountryDialing* c = CountryByCallingCode(digits);
    const size_t cc = c ? c->calling_code.size() : 0;
    // "+44 (0)20 ...", "+49 030 ...": a national trunk 0 written after the country code.
    if (c && c->trunk_prefix == "0" && digits.size() > cc && digits[cc] == '0') {
      digits.erase(cc, 1);
    }
  }
  if (digits.size() < kMinPhoneDigits || digits.size() > kMaxPhoneDigits) {
    return Bad(IdType::kPhone, "phone must have 8 to 15 digits in E.164 form");
  }
  if (digits.front() == '1' && digits.size() != 11) {
    return Bad(IdType::kPhone, "a NANP (+1) number must have 10 digits after the country code");
  }
  return "+" + digits;
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

std::optional<CountryDialing> FindCountry(std::string_view iso) {
  if (iso.size() != 2) return std::nullopt;
  const char up[2] = {static_cast<char>(iso[0] & ~0x20), static_cast<char>(iso[1] & ~0x20)};
  for (const auto& c : kCountries) {
    if (c.iso == std::string_view(up, 2)) return c;
  }
  return std::nullopt;
}

size_t CountryCount() { return std::size(kCountries); }

std::optional<CountryDialing> CountryOfNumber(std::string_view e164) {
  if (!e164.empty() && e164.front() == '+') e164.remove_prefix(1);
  const CountryDialing* c = CountryByCallingCode(e164);
  if (c == nullptr) return std::nullopt;
  return *c;
}

Result<std::string> Normalize(IdType type, std::string_view raw, const NormalizeOptions& options) {
  Result<std::string> out = [&]() -> Result<std::string> {
    switch (type) {
      case IdType::kEmail: return NormalizeEmail(raw);
      case IdType::kPhone: return NormalizePhone(raw, options);
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

Result<std::pair<IdType, std::string>> ParseTypedIdentifier(std::string_view text,
                                                            const NormalizeOptions& options) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Status::Invalid("identifier must be TYPE:VALUE", "identifier");
  }
  const std::optional<IdType> type = ParseIdType(text.substr(0, colon));
  if (!type) return Status::Invalid("unknown identifier type", "identifier");
  Result<std::string> value = Normalize(*type, text.substr(colon + 1), options);
  if (!value.ok()) return value.status();
  return std::make_pair(*type, std::move(value).value());
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
