// Normalize() with phones: libphonenumber (identifier.h documents the rules). Part of cjd_identity,
// the hub's library; the agent links cjd_identifier (identifier.cpp) without libphonenumber.
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <set>
#include <string>

#include "hub/identity/identifier.h"

namespace cjd::hub::identity {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr char kUnknownRegion[] = "ZZ";
constexpr size_t kMaxPhoneInput = 64;  // bytes of a written phone after trimming

Status Bad(std::string message) { return Status::Invalid(std::move(message), "identifier.phone"); }

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSeparator(char c) {
  return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

const PhoneNumberUtil& Util() { return *PhoneNumberUtil::GetInstance(); }

std::string UpperRegion(std::string_view iso) {
  std::string up(iso);
  for (char& c : up) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return up;
}

// The region to read national numbers in: the default country when libphonenumber knows it.
std::string RegionOf(const NormalizeOptions& options) {
  return IsPhoneRegion(options.default_country) ? UpperRegion(options.default_country)
                                                : std::string(kUnknownRegion);
}

Status ParseError(PhoneNumberUtil::ErrorType e, bool international) {
  switch (e) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return Bad(international ? "phone has an unknown country calling code"
                               : "phone has no international prefix and no known default country");
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return Bad("phone is too short");
    case PhoneNumberUtil::TOO_LONG_NSN:
      return Bad("phone is too long");
    default:
      return Bad("phone is not a phone number");
  }
}

Result<std::string> NormalizePhone(std::string_view raw, const NormalizeOptions& options) {
  const std::string_view s = Trim(raw);
  std::string digits;
  bool plus = false;
  for (char c : s) {
    if (IsDigit(c)) {
      digits.push_back(c);
    } else if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (!IsSeparator(c)) {
      return Bad("phone contains a character other than digits and separators");
    }
  }
  if (digits.empty()) return Bad("phone has no digits");
  if (plus && digits.front() == '0') return Bad("country code cannot start with 0");
  if (s.size() > kMaxPhoneInput) return Bad("phone is longer than 64 characters");
  const PhoneNumberUtil& util = Util();
  // Only digits, separators and a leading '+' reach the parser: its leniency (a phone picked out
  // of text, vanity letters, extensions) is not wanted for an identifier.
  const std::string text = plus ? "+" + digits : digits;
  PhoneNumber number;
  const PhoneNumberUtil::ErrorType e = util.Parse(text, RegionOf(options), &number);
  if (e == PhoneNumberUtil::NO_PARSING_ERROR && util.IsValidNumber(number)) {
    std::string out;
    util.Format(number, PhoneNumberUtil::E164, &out);
    return out;
  }
  // "00" is the international prefix almost everywhere: a number that is not valid read in a
  // country whose prefix differs (US "011") is read as international once more.
  if (!plus && digits.size() > 2 && digits.compare(0, 2, "00") == 0) {
    PhoneNumber intl;
    if (util.Parse("+" + digits.substr(2), kUnknownRegion, &intl) ==
            PhoneNumberUtil::NO_PARSING_ERROR &&
        util.IsValidNumber(intl)) {
      std::string out;
      util.Format(intl, PhoneNumberUtil::E164, &out);
      return out;
    }
  }
  if (e != PhoneNumberUtil::NO_PARSING_ERROR) return ParseError(e, plus);
  return Bad("phone is not a valid number for its country");
}

}  // namespace

Result<std::string> Normalize(IdType type, std::string_view raw, const NormalizeOptions& options) {
  if (type != IdType::kPhone) return NormalizeNonPhone(type, raw);
  Result<std::string> out = NormalizePhone(raw, options);
  if (out.ok() && out->size() > kMaxIdentifierLength) return Bad("phone is longer than 256 bytes");
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

Result<std::string> RenormalizeStoredPhone(std::string_view stored,
                                           const NormalizeOptions& options) {
  Result<std::string> direct = Normalize(IdType::kPhone, stored, options);
  if (direct.ok() || stored.size() < 2 || stored.front() != '+') return direct;
  const PhoneNumberUtil& util = Util();
  PhoneNumber number;
  if (util.Parse(std::string(stored), kUnknownRegion, &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return direct;
  }
  const std::string cc = std::to_string(number.country_code());
  std::string region;
  util.GetRegionCodeForCountryCode(number.country_code(), &region);
  std::string ndd;
  util.GetNddPrefixForRegion(region, /*strip_non_digits=*/true, &ndd);
  if (ndd.empty() || stored.compare(1, cc.size(), cc) != 0) return direct;
  PhoneNumber national;
  if (util.Parse(ndd + std::string(stored.substr(1 + cc.size())), region, &national) !=
          PhoneNumberUtil::NO_PARSING_ERROR ||
      !util.IsValidNumber(national)) {
    return direct;
  }
  std::string out;
  util.Format(national, PhoneNumberUtil::E164, &out);
  return out;
}

std::optional<std::string> PhoneNationalNumber(std::string_view e164) {
  if (e164.empty() || e164.front() != '+') return std::nullopt;
  const PhoneNumberUtil& util = Util();
  PhoneNumber number;
  if (util.Parse(std::string(e164), kUnknownRegion, &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::nullopt;
  }
  std::string nsn;
  util.GetNationalSignificantNumber(number, &nsn);
  return nsn;
}

bool IsPhoneRegion(std::string_view iso) {
  if (iso.size() != 2) return false;
  static const std::set<std::string> kRegions = [] {
    std::set<std::string> r;
    Util().GetSupportedRegions(&r);
    return r;
  }();
  return kRegions.count(UpperRegion(iso)) > 0;
}

size_t PhoneRegionCount() {
  std::set<std::string> r;
  Util().GetSupportedRegions(&r);
  return r.size();
}

}  // namespace cjd::hub::identity
