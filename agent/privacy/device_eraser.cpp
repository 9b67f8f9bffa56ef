#include "agent/privacy/device_eraser.h"

#include <spdlog/spdlog.h>

#include <future>
#include <set>

#include "hub/identity/identifier.h"
#include "shared/event/event.h"

namespace cjd::agent {
namespace {

namespace identity = cjd::hub::identity;
using identity::IdType;

// The normal form of a non-phone identifier (the value as it is when it has none).
std::string NormalOrRaw(IdType type, const std::string& value) {
  auto norm = identity::NormalizeNonPhone(type, value);
  return norm.ok() ? *norm : value;
}

std::string DigitsOf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  return out;
}

// The command's identifiers as (type, normalised value); phones as their digits.
std::set<std::pair<IdType, std::string>> Wanted(const EraseCommand& c) {
  std::set<std::pair<IdType, std::string>> out;
  for (const auto& [type_name, value] : c.identifiers) {
    auto type = identity::ParseIdType(type_name);
    if (!type) continue;
    out.emplace(*type, *type == IdType::kPhone ? DigitsOf(value) : NormalOrRaw(*type, value));
  }
  return out;
}

}  // namespace

bool PhoneMayBe(std::string_view raw, std::string_view wanted) {
  const std::string d = DigitsOf(raw);
  const std::string w = DigitsOf(wanted);
  if (d.empty() || w.empty()) return false;
  if (d.size() < kPhoneTailDigits || w.size() < kPhoneTailDigits) return d == w;
  const size_t n = kPhoneTailDigits;
  return d.compare(d.size() - n, n, w, w.size() - n, n) == 0;
}

bool CarriesPerson(std::string_view body, const EraseCommand& command) {
  const auto wanted = Wanted(command);
  Result<Event> e = EventFromCanonical(body);
  if (!e.ok()) return false;
  auto has = [&](IdType type, const std::string& raw) {
    if (raw.empty()) return false;
    return wanted.count({type, NormalOrRaw(type, raw)}) > 0;
  };
  auto has_phone = [&](const std::string& raw) {
    if (raw.empty()) return false;
    for (const auto& [type, digits] : wanted) {
      if (type == IdType::kPhone && PhoneMayBe(raw, digits)) return true;
    }
    return false;
  };
  if (e->customer) {
    const Customer& c = *e->customer;
    if (has(IdType::kLoyaltyId, c.loyalty_id) || has(IdType::kCustomerId, c.customer_id) ||
        has(IdType::kEmail, c.email) || has_phone(c.phone) ||
        has(IdType::kAnonymousId, c.anonymous_id)) {
      return true;
    }
  }
  return e->order && e->order->payment &&
         has(IdType::kCardFingerprint, e->order->payment->card_fingerprint);
}

Result<EraseReceipt> EraseOnDevice(const EraseCommand& command, OutboxWriter* writer,
                                   OfferCache* offers) {
  EraseReceipt receipt;
  receipt.erasure_id = command.erasure_id;
  auto promise = std::make_shared<std::promise<Result<int64_t>>>();
  std::future<Result<int64_t>> done = promise->get_future();
  writer->Redact([command](std::string_view body) { return CarriesPerson(body, command); },
                 [promise](Result<int64_t> n) { promise->set_value(std::move(n)); });
  if (done.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    return Status(Code::kUnavailable, "the outbox writer did not redact within 60 s");
  }
  Result<int64_t> redacted = done.get();
  if (!redacted.ok()) return redacted.status();
  receipt.outbox_redacted = *redacted;
  if (offers != nullptr) {
    for (const auto& [type, value] : command.identifiers) {
      if (type != "loyalty_id") continue;
      Result<bool> removed = offers->Forget(value);
      if (!removed.ok()) return removed.status();
      if (*removed) ++receipt.offers_removed;
    }
  }
  spdlog::info("privacy: erasure {} done on this device ({} outbox rows redacted, {} offer "
               "assignments removed)",
               command.erasure_id, receipt.outbox_redacted, receipt.offers_removed);
  return receipt;
}

}  // namespace cjd::agent
