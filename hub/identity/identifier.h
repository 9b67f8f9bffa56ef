// Identifiers of a customer and their normal form. Pure logic (plus libsodium for the keyed hash
// and libphonenumber for phones).
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
// - phone: E.164 ("+" and the digits), as libphonenumber (Debian's libphonenumber8: metadata of
//   245 regions) parses and validates it. Only digits, the separators " -./()" and one leading
//   "+" may be written: letters, "#", "*" and extensions ("x12", "ext 12") are invalid. "+" and
//   the default country's own international prefix ("00" GB/DE, "011" US, "0011" AU) start an
//   international number; "00" also does in a country whose prefix differs, when the number is
//   not valid read nationally ("0044 20 ..." at a US till). Otherwise the number is read in the
//   default country, with that country's national prefixes and carrier codes removed
//   ("020 ..." GB, "8 495 ..." RU, "044 55 ..." MX, "0 21 11 ..." BR). A trunk "0" written after
//   the country code is dropped where it is not part of the number ("+44 (0)20 ...", but Italy's
//   "+39 06 ..." keeps it). Each number has ONE normal form however it is written: an Argentine
//   mobile is "+549" + area code + number whether written "+54 9 11 ..." or "011 15 ..."; a
//   Mexican mobile drops the old "1" ("+52 1 55 ..." and "+52 55 ..." are "+5255..."). A number
//   that is not valid for its country (wrong length, unallocated range) is invalid, and so is one
//   without an international prefix when the default country is empty or not a region the
//   metadata knows.
// - loyalty_id, customer_id: trimmed; inner runs of whitespace become one space; case kept.
// - card_fingerprint, anonymous_id: trimmed, otherwise as is.
// Every type: empty after trimming, control characters or longer than kMaxIdentifierLength are
// invalid.
// Normalize() is in cjd_identity (hub), which links libphonenumber; identifier.cpp's part
// (everything but phones) is cjd_identifier, which the agent links without it.
Result<std::string> Normalize(IdType type, std::string_view raw, const NormalizeOptions& options);

// Normalize() of every type but kPhone (kInvalid for a phone): what needs no phone metadata.
Result<std::string> NormalizeNonPhone(IdType type, std::string_view raw);

// The version of the phone normal form, stored in profiles.db (meta 'phone_normalizer'); when the
// stored one differs the hub re-keys the stored phones at start (hub/projection/phone_rekey.h).
//   1: the hand-written table of 60 countries (before issue 16; a database without the key);
//   2: libphonenumber.
inline constexpr int64_t kPhoneNormalizerVersion = 2;

// A phone stored in an earlier normal form (an E.164 value of an earlier normaliser) in the current
// one: Normalize(), or when that rejects it, its digits after the country code read in that
// country with its national prefix before them (the old normaliser dropped a national trunk
// prefix and whatever followed stayed: "+552111987654321" was "0 21 11 98765-4321" in Brazil, a
// carrier code, and is "+5511987654321"). For the re-keying (hub/projection/phone_rekey.h).
Result<std::string> RenormalizeStoredPhone(std::string_view stored,
                                           const NormalizeOptions& options);

// The national significant number of a normalised phone ("+442079460958" -> "2079460958");
// nullopt when its country calling code is not one libphonenumber knows.
std::optional<std::string> PhoneNationalNumber(std::string_view e164);
// True if `iso` (any case) is a region libphonenumber has metadata for ("GB", "AR", ...).
bool IsPhoneRegion(std::string_view iso);
// How many regions that is (245 with bookworm's libphonenumber 8.12.57).
size_t PhoneRegionCount();

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
