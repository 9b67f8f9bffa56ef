// Guardrails of identity resolution: which identifiers may link people. Pure logic.
//
// On by default (GuardrailConfig{} is the default policy) and configurable: every field is plain
// data so a TOML loader can fill it.
// - Per-type limits: how many identifiers of one type a profile may hold. An identifier that
//   would exceed its limit is not attached, and a merge that would is refused.
// - A blocklist of junk values (placeholders typed into forms and tills: "0", "null", "n/a",
//   "test@test.com", "1234567890", repeated-digit phones, ...): such values are ignored.
// - Shared identifiers (a store's house loyalty card, a kiosk's anonymous id): events carrying
//   them are still taken, but the identifier is never attached to a profile and never links two.
// All checks run on normalised values (see identifier.h).
#pragma once

#include <array>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/identity/identifier.h"
#include "shared/core/status.h"

namespace cjd::hub::identity {

struct GuardrailConfig {
  // Maximum identifiers of each type per profile, indexed by TypeIndex(); <= 0 means no limit.
  // loyalty_id, customer_id, email, phone, card_fingerprint, anonymous_id.
  std::array<int, kIdTypeCount> max_per_profile = {2, 2, 5, 3, 10, 200};

  // Junk values for every type, compared case-insensitively with the normalised value.
  std::vector<std::string> blocked_any = {
      "", "0", "00", "-", "--", ".", "?", "x", "xx", "xxx", "na", "n/a", "n.a.", "nil", "null",
      "none", "unknown", "undefined", "nan", "test", "tbc", "tba", "void", "blank", "empty",
      "default", "anonymous", "guest", "noemail", "no email", "notprovided", "not provided",
      "1234567890", "123456789", "12345678", "1234567", "123456", "0000000000"};

  // Junk values of one type, written in any form Normalize() accepts (they are normalised when
  // the Guardrails are built; phones therefore in E.164 or relative to the default country).
  std::vector<std::pair<IdType, std::string>> blocked = {
      {IdType::kEmail, "test@test.com"},      {IdType::kEmail, "no@email.com"},
      {IdType::kEmail, "none@none.com"},      {IdType::kEmail, "null@null.com"},
      {IdType::kEmail, "noemail@noemail.com"}, {IdType::kEmail, "email@email.com"},
      {IdType::kEmail, "a@a.com"},            {IdType::kEmail, "abc@abc.com"},
      {IdType::kEmail, "test@gmail.com"},     {IdType::kEmail, "noreply@gmail.com"},
      {IdType::kPhone, "+10000000000"},       {IdType::kPhone, "+11234567890"},
      {IdType::kPhone, "+15555555555"}};

  // Email local parts that mean "no address", whatever the domain ("noemail@shop.co.uk").
  std::vector<std::string> blocked_email_local_parts = {
      "noemail", "no.email", "no-email", "no_email", "nomail", "none", "null", "nobody",
      "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply",
      "unknown", "n/a", "test", "invalid", "dummy", "fake", "asdf", "xxx"};
  // Email domains that cannot be a customer's: reserved example domains and test placeholders.
  // Domains under the reserved TLDs .test, .example, .invalid and .localhost are blocked too.
  std::vector<std::string> blocked_email_domains = {
      "example.com", "example.org", "example.net", "test.com", "noemail.com", "nomail.com", "none.com", "null.com", "mailinator.com"};

  // Phones whose national digits are one repeated digit (+44 0000 000000, +1 111 111 1111) or an
  // ascending or descending run (123456789, 987654321) of 7 or more digits.
  bool block_phone_patterns = true;

  // Identifiers that attach events but never merge people (normalised like `blocked`).
  std::vector<std::pair<IdType, std::string>> shared;
};

enum class Verdict {
  kAllow,    // usable for attaching and linking
  kShared,   // a shared device/card: the event is taken, the identifier never links profiles
  kBlock,    // junk: ignored
};

struct CheckResult {
  Verdict verdict = Verdict::kAllow;
  std::string reason;  // empty when allowed; "blocklisted", "junk_pattern" or "shared"
  bool allowed() const { return verdict != Verdict::kBlock; }
};

class Guardrails {
 public:
  Guardrails() : Guardrails(GuardrailConfig{}, NormalizeOptions{}) {}
  // Normalises the configured values with `options`; entries that do not normalise are kept in
  // lower case (they can still match through blocked_any).
  Guardrails(GuardrailConfig config, const NormalizeOptions& options);

  // `normalized` must be the output of Normalize(type, ...).
  CheckResult Check(IdType type, std::string_view normalized) const;

  // The per-profile limit of `type`; 0 means no limit.
  int Limit(IdType type) const;
  // True if a profile holding `count` identifiers of `type` may take one more.
  bool HasRoom(IdType type, int count) const;

  const GuardrailConfig& config() const { return config_; }

 private:
  bool IsJunkPhone(std::string_view e164) const;
  bool IsJunkEmail(std::string_view email) const;

  GuardrailConfig config_;
  std::set<std::string> blocked_any_;                       // lower-cased
  std::set<std::pair<IdType, std::string>> blocked_;        // normalised, lower-cased
  std::set<std::pair<IdType, std::string>> shared_;         // normalised
  std::set<std::string> email_locals_;
  std::set<std::string> email_domains_;
};

// Reads an operator's guardrail file (hub.toml `[identity] blocklist_file` / `shared_file`): one
// entry per line, "TYPE:VALUE" (a value of one identifier type, appended to `typed`) or, unless
// `typed_only`, "VALUE" (junk whatever the type, appended to `any`); blank lines and lines
// starting with '#' are skipped, trailing spaces and CRs dropped. Lines that fit neither form are
// appended to `ignored` for the caller to report. kNotFound when the file cannot be opened.
Status ReadGuardrailFile(const std::string& path, bool typed_only,
                         std::vector<std::pair<IdType, std::string>>* typed,
                         std::vector<std::string>* any, std::vector<std::string>* ignored);

}  // namespace cjd::hub::identity
