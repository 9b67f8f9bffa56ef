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

// The command's identifiers as (type, normalised value).
std::set<std::pair<IdType, std::string>> Wanted(const EraseCommand& c,
                                                const identity::NormalizeOptions& options) {
  std::set<std::pair<IdType, std::string>> out;
  for (const auto& [type_name, value] : c.identifiers) {
    auto type = identity::ParseIdType(type_name);
    if (!type) continue;
    auto norm = identity::Normalize(*type, value, options);
    out.emplace(*type, norm.ok() ? *norm : value);
  }
  return out;
}

}  // namespace

bool CarriesPerson(std::string_view body, const EraseCommand& command) {
  identity::NormalizeOptions options;
  if (!command.default_country.empty()) options.default_country = command.default_country;
  const auto wanted = Wanted(command, options);
  Result<Event> e = EventFromCanonical(body);
  if (!e.ok()) return false;
  auto has = [&](IdType type, const std::string& raw) {
    if (raw.empty()) return false;
    auto norm = identity::Normalize(type, raw, options);
    return wanted.count({type, norm.ok() ? *norm : raw}) > 0;
  };
  if (e->customer) {
    const Customer& c = *e->customer;
    if (has(IdType::kLoyaltyId, c.loyalty_id) || has(IdType::kCustomerId, c.customer_id) ||
        has(IdType::kEmail, c.email) || has(IdType::kPhone, c.phone) ||
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
