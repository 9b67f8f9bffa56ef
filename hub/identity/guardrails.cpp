#include "hub/identity/guardrails.h"

#include <algorithm>
#include <fstream>

namespace cjd::hub::identity {
namespace {

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string NormalizedOrLower(IdType type, std::string_view value, const NormalizeOptions& o) {
  Result<std::string> n = Normalize(type, value, o);
  return n.ok() ? std::move(n).value() : LowerAscii(value);
}

// True if the whole of `nsn` is one digit repeated, or an ascending/descending run of 7+ digits.
bool IsJunkNationalNumber(std::string_view nsn) {
  if (nsn.size() >= 6 && std::all_of(nsn.begin(), nsn.end(), [&](char c) { return c == nsn[0]; })) {
    return true;
  }
  if (nsn.size() < 7) return false;
  static constexpr std::string_view kUp = "01234567890123456789";
  static constexpr std::string_view kDown = "98765432109876543210";
  return kUp.find(nsn) != std::string_view::npos || kDown.find(nsn) != std::string_view::npos;
}

}  // namespace

Guardrails::Guardrails(GuardrailConfig config, const NormalizeOptions& options)
    : config_(std::move(config)) {
  for (const std::string& v : config_.blocked_any) blocked_any_.insert(LowerAscii(v));
  for (const auto& [type, value] : config_.blocked) {
    blocked_.emplace(type, LowerAscii(NormalizedOrLower(type, value, options)));
  }
  for (const auto& [type, value] : config_.shared) {
    Result<std::string> n = Normalize(type, value, options);
    shared_.emplace(type, n.ok() ? std::move(n).value() : value);
  }
  for (const std::string& v : config_.blocked_email_local_parts) email_locals_.insert(LowerAscii(v));
  for (const std::string& v : config_.blocked_email_domains) email_domains_.insert(LowerAscii(v));
}

bool Guardrails::IsJunkPhone(std::string_view e164) const {
  if (!config_.block_phone_patterns) return false;
  std::string_view digits = e164;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (const std::optional<std::string> nsn = PhoneNationalNumber(e164)) {
    return IsJunkNationalNumber(*nsn);
  }
  // A calling code libphonenumber does not know (such a value did not come from Normalize()):
  // any split of the first 1-3 digits.
  for (size_t len = 1; len <= 3 && len < digits.size(); ++len) {
    if (IsJunkNationalNumber(digits.substr(len))) return true;
  }
  return false;
}

bool Guardrails::IsJunkEmail(std::string_view email) const {
  const size_t at = email.rfind('@');
  if (at == std::string_view::npos) return false;
  const std::string local = LowerAscii(email.substr(0, at));
  const std::string domain = LowerAscii(email.substr(at + 1));
  if (email_locals_.count(local) || email_domains_.count(domain)) return true;
  const size_t dot = domain.rfind('.');
  const std::string_view tld = std::string_view(domain).substr(dot == std::string::npos ? 0 : dot + 1);
  return tld == "test" || tld == "example" || tld == "invalid" || tld == "localhost";
}

CheckResult Guardrails::Check(IdType type, std::string_view normalized) const {
  const std::string lower = LowerAscii(normalized);
  if (blocked_any_.count(lower) || blocked_.count({type, lower})) {
    return {Verdict::kBlock, "blocklisted"};
  }
  if (type == IdType::kPhone) {
    // "1234567890" typed at a GB till normalises to +441234567890: judge the national digits.
    if (IsJunkPhone(normalized)) return {Verdict::kBlock, "junk_pattern"};
  }
  if (type == IdType::kEmail && IsJunkEmail(normalized)) return {Verdict::kBlock, "blocklisted"};
  if (shared_.count({type, std::string(normalized)})) return {Verdict::kShared, "shared"};
  return {};
}

int Guardrails::Limit(IdType type) const {
  const int limit = config_.max_per_profile[static_cast<size_t>(TypeIndex(type))];
  return limit > 0 ? limit : 0;
}

bool Guardrails::HasRoom(IdType type, int count) const {
  const int limit = Limit(type);
  return limit == 0 || count < limit;
}

Status ReadGuardrailFile(const std::string& path, bool typed_only,
                         std::vector<std::pair<IdType, std::string>>* typed,
                         std::vector<std::string>* any, std::vector<std::string>* ignored) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read " + path);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      if (auto t = ParseIdType(line.substr(0, colon))) {
        typed->emplace_back(*t, line.substr(colon + 1));
        continue;
      }
    }
    if (!typed_only && any != nullptr) {
      any->push_back(line);
    } else if (ignored != nullptr) {
      ignored->push_back(line);
    }
  }
  return Status::Ok();
}

}  // namespace cjd::hub::identity
