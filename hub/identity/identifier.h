// Identifiers of a customer and their normal form. Pure logic (plus libsodium for the keyed hash).
//
// Every identifier is normalised before it is matched, stored or hashed, so "Ann@Example.com "
// and "ann@example.com" are one identifier, and "020 7946 0958" (default country GB) and
// "+44 20 7946 0958" are one phone. PII identifiers are indexed by a keyed hash (BLAKE2b keyed
// with the hub's 32-byte pepper), never by their plain text.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "shared/core/status.h"

namespace cjd::hub::identity {

// The numeric values are part of the keyed hash input and of stored data: never renumber.
enum class IdType : uint8_t {
  kLoyaltyId = 1,
  kCustomerId = 2,
  kEmail = 3,
  kPhone = 4,
  kCardFingerprint = 5,
  kAnonymousId = 6,
};
inline constexpr int kIdTypeCount = 6;
inline constexpr std::array<IdType, kIdTypeCount> kAllIdTypes = {
    IdType::kLoyaltyId, IdType::kCustomerId,      IdType::kEmail,
    IdType::kPhone,     IdType::kCardFingerprint, IdType::kAnonymousId};

// 0-based index into per-type arrays (IdType::kLoyaltyId -> 0).
constexpr int TypeIndex(IdType t) { return static_cast<int>(t) - 1; }

// "loyalty_id", "customer_id", "email", "phone", "card_fingerprint", "anonymous_id".
const char* IdTypeName(IdType t);
std::optional<IdType> ParseIdType(std::string_view name);

// PII types are indexed by keyed hash only; anonymous ids (random device/browser ids) are not PII.
bool IsPii(IdType t);

// Matching strength, higher is stronger:
// loyalty_id 6 > customer_id 5 > card_fingerprint 4 > email 3 > phone 2 > anonymous_id 1.
// Ids issued by the retailer's own systems are authoritative; a card is a payment instrument but
// is shared within households; email is personal more often than a phone (household landlines,
// recycled numbers); an anonymous id is a cookie or device.
int Priority(IdType t);

struct NormalizeOptions {
  // ISO 3166-1 alpha-2 code ("GB", "DE", "US", ...) used for phone numbers written without an
  // international prefix. Empty: such numbers are rejected.
  std::string default_country = "GB";
};

// Longest normalised value accepted (bytes), for every type.
inline constexpr size_t kMaxIdentifierLength = 256;

// The normal form of `raw`, or kInvalid (field "identifier.<type>") when it cannot be one:
// - email: trimmed, whole address lower-cased (ASCII), one '@', dot-atom local part of at most
//   64 bytes, a domain of at least two labels; inner whitespace is invalid. UTF-8 bytes are kept
//   as they are. No provider-specific rewriting (dots or "+tag" in Gmail addresses are kept).
// - phone: E.164 ("+" and 8 to 15 digits). Separators " -./()" are ignored; "+", "00" and the
//   default country's own international prefix (e.g. "011" US, "0011" AU) start an international
//   number; otherwise the default country's calling code is prepended after removing its
//   national trunk prefix ("0" in most countries, "1" in NANP, "8" RU, "06" HU). A trunk "0"
//   written after a country code ("+44 (0)20 ...", "+49 030 ...") is dropped for countries that
//   use trunk "0" (never for Italy, where the 0 belongs to the number). NANP numbers (+1) must
//   have 10 national digits. Letters (extensions) are invalid.
// - loyalty_id, customer_id: trimmed; inner runs of whitespace become one space; case kept.
// - card_fingerprint, anonymous_id: trimmed, otherwise as is.
// Every type: empty after trimming, control characters or longer than kMaxIdentifierLength are
// invalid.
Result<std::string> Normalize(IdType type, std::string_view raw, const NormalizeOptions& options);

// Calling code and trunk prefix of a country ("GB" -> {"44", "0"}); nullopt if not in the table.
struct CountryDialing {
  std::string_view iso;
  std::string_view calling_code;
  std::string_view trunk_prefix;    // "" when the country has none
  std::string_view intl_prefix;     // the country's own international (IDD) prefix
};
std::optional<CountryDialing> FindCountry(std::string_view iso);
size_t CountryCount();
// The table entry whose calling code starts an E.164 number ("+442079460958" -> GB; for codes
// shared by several countries, such as +1, the first in the table); nullopt when unknown.
std::optional<CountryDialing> CountryOfNumber(std::string_view e164);

// "email:ann@example.com" -> {kEmail, "ann@example.com"} (value normalised). Used for
// `GET /v1/profiles?identifier=TYPE:VALUE`.
Result<std::pair<IdType, std::string>> ParseTypedIdentifier(std::string_view text,
                                                            const NormalizeOptions& options);

using PepperKey = std::array<uint8_t, 32>;
using IdKey = std::array<uint8_t, 16>;

// BLAKE2b-128 keyed with `pepper` over (type byte || normalised value). Stable across runs and
// builds, different for a different pepper, and different types never collide on equal text.
IdKey IdentifierKey(IdType type, std::string_view normalized, const PepperKey& pepper);

// 32 lower-case hex digits, and back.
std::string KeyHex(const IdKey& key);
Result<IdKey> KeyFromHex(std::string_view hex);

}  // namespace cjd::hub::identity
