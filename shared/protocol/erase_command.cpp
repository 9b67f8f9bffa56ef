#include "shared/protocol/erase_command.h"

#include <nlohmann/json.hpp>

#include <set>

namespace cjd {
namespace {

using json = nlohmann::json;

const std::set<std::string>& IdentifierTypes() {
  static const std::set<std::string> kTypes = {"loyalty_id", "customer_id", "email",
                                               "phone", "card_fingerprint", "anonymous_id"};
  return kTypes;
}

Result<json> ParseObject(std::string_view text, std::initializer_list<const char*> known) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Invalid("must be a JSON object");
  for (const auto& [name, value] : j.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || name == k;
    if (!ok) return Status::Invalid("unknown field", name);
  }
  auto id = j.find("erasure_id");
  if (id == j.end() || !id->is_string() || !IsErasureId(id->get<std::string>())) {
    return Status::Invalid("must be era_ and 20 hex digits", "erasure_id");
  }
  return j;
}

Result<int64_t> Count(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return int64_t{0};
  if (!it->is_number_unsigned()) return Status::Invalid("must be a non-negative integer", name);
  return it->get<int64_t>();
}

}  // namespace

bool IsErasureId(std::string_view id) {
  if (id.size() != 24 || id.substr(0, 4) != "era_") return false;
  for (char c : id.substr(4)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string EncodeEraseCommand(const EraseCommand& c) {
  json ids = json::array();
  for (const auto& [type, value] : c.identifiers) ids.push_back(json::array({type, value}));
  return json({{"erasure_id", c.erasure_id},
               {"identifiers", std::move(ids)},
               {"default_country", c.default_country}})
      .dump();
}

Result<EraseCommand> DecodeEraseCommand(std::string_view text) {
  auto j = ParseObject(text, {"erasure_id", "identifiers", "default_country"});
  if (!j.ok()) return j.status();
  EraseCommand c;
  c.erasure_id = (*j)["erasure_id"].get<std::string>();
  auto country = j->find("default_country");
  if (country != j->end()) {
    if (!country->is_string() || country->get<std::string>().size() > 2) {
      return Status::Invalid("must be a two-letter country code or empty", "default_country");
    }
    c.default_country = country->get<std::string>();
  }
  auto ids = j->find("identifiers");
  if (ids == j->end() || !ids->is_array() || ids->empty() ||
      ids->size() > kMaxEraseIdentifiers) {
    return Status::Invalid("must be an array of 1.." + std::to_string(kMaxEraseIdentifiers) +
                               " [type, value] pairs",
                           "identifiers");
  }
  for (const json& pair : *ids) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string() ||
        IdentifierTypes().count(pair[0].get<std::string>()) == 0 ||
        pair[1].get<std::string>().empty() || pair[1].get<std::string>().size() > 320) {
      return Status::Invalid("each must be [type, value] with a known type", "identifiers");
    }
    c.identifiers.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
  }
  return c;
}

std::string EncodeEraseReceipt(const EraseReceipt& r) {
  return json({{"erasure_id", r.erasure_id},
               {"outbox_redacted", r.outbox_redacted},
               {"offers_removed", r.offers_removed}})
      .dump();
}

Result<EraseReceipt> DecodeEraseReceipt(std::string_view text) {
  auto j = ParseObject(text, {"erasure_id", "outbox_redacted", "offers_removed"});
  if (!j.ok()) return j.status();
  EraseReceipt r;
  r.erasure_id = (*j)["erasure_id"].get<std::string>();
  auto outbox = Count(*j, "outbox_redacted");
  if (!outbox.ok()) return outbox.status();
  auto offers = Count(*j, "offers_removed");
  if (!offers.ok()) return offers.status();
  r.outbox_redacted = *outbox;
  r.offers_removed = *offers;
  return r;
}

}  // namespace cjd
