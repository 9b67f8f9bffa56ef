#include "shared/protocol/device_status.h"

#include <nlohmann/json.hpp>

#include <limits>
#include <utility>
#include <vector>

namespace cjd {
namespace {

using json = nlohmann::json;

enum class Type { kBool, kString, kStringOrNull, kInt, kCount, kUnsigned };

struct Field {
  const char* name;
  Type type;
};

constexpr Field kFields[] = {
    {"online", Type::kBool},
    {"connected", Type::kBool},
    {"device_id", Type::kString},
    {"store_id", Type::kString},
    {"kind", Type::kString},
    {"version", Type::kString},
    {"clock", Type::kString},
    {"last_ack_at", Type::kStringOrNull},
    {"clock_ms", Type::kCount},
    {"will_ms", Type::kCount},
    {"last_seq", Type::kUnsigned},
    {"acked_seq", Type::kUnsigned},
    {"offers_version", Type::kUnsigned},
    {"uptime_s", Type::kCount},
    {"backlog", Type::kCount},
    {"backlog_bytes", Type::kCount},
    {"budget_bytes", Type::kCount},
    {"backlog_age_s", Type::kCount},
    {"accepted_total", Type::kCount},
    {"refused_full", Type::kCount},
    {"refused_disk_full", Type::kCount},
    {"epoch", Type::kString},
    {"epoch_confirmed", Type::kBool},
    {"acks_ignored", Type::kCount},
    {"probes_sent", Type::kCount},
    {"duplicates_total", Type::kCount},
    {"batches_sent", Type::kCount},
    {"resends", Type::kCount},
    {"reconnects", Type::kCount},
    {"bad_downlink", Type::kCount},
    {"offers", Type::kCount},
    {"offer_assignments", Type::kCount},
    {"offer_updates_applied", Type::kCount},
    {"offer_updates_rejected", Type::kCount},
    {"impressions_recorded", Type::kCount},
    {"impressions_dropped", Type::kCount},
};

bool IsInt64(const json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return true;
  return v.is_number_unsigned() &&
         v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

// Empty when `v` fits `type`, else what it must be.
const char* Check(const json& v, Type type) {
  switch (type) {
    case Type::kBool:
      return v.is_boolean() ? nullptr : "must be true or false";
    case Type::kString:
      return v.is_string() ? nullptr : "must be a string";
    case Type::kStringOrNull:
      return v.is_string() || v.is_null() ? nullptr : "must be a string or null";
    case Type::kInt:
      return IsInt64(v) ? nullptr : "must be a 64-bit integer";
    case Type::kCount:
      return IsInt64(v) && v.get<int64_t>() >= 0 ? nullptr : "must be an integer >= 0";
    case Type::kUnsigned:
      return v.is_number_unsigned() || (IsInt64(v) && v.get<int64_t>() >= 0)
                 ? nullptr
                 : "must be an unsigned integer";
  }
  return "has an unknown type";
}

}  // namespace

Result<DeviceStatus> DecodeDeviceStatus(std::string_view json_text) {
  if (json_text.size() > kMaxStatusBytes) {
    return Status::Invalid("status is " + std::to_string(json_text.size()) +
                           " bytes, over the limit of " + std::to_string(kMaxStatusBytes));
  }
  const json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Invalid("status is not JSON");
  if (!j.is_object()) return Status::Invalid("status must be a JSON object");
  for (const Field& f : kFields) {
    auto it = j.find(f.name);
    if (it == j.end()) continue;
    if (const char* problem = Check(*it, f.type)) return Status::Invalid(problem, f.name);
  }
  auto online = j.find("online");
  if (online == j.end()) return Status::Invalid("is required", "online");
  std::vector<OutboxResetEntry> resets;
  if (auto r = j.find("outbox_resets"); r != j.end()) {
    if (!r->is_array()) return Status::Invalid("must be an array", "outbox_resets");
    if (r->size() > kMaxOutboxResets) {
      return Status::Invalid("has more than " + std::to_string(kMaxOutboxResets) + " entries",
                             "outbox_resets");
    }
    for (size_t i = 0; i < r->size(); ++i) {
      const json& item = (*r)[i];
      const std::string where = "outbox_resets[" + std::to_string(i) + "]";
      if (!item.is_object()) return Status::Invalid("must be an object", where);
      OutboxResetEntry e;
      for (auto [key, out] : {std::pair{"at", &e.at}, std::pair{"reason", &e.reason},
                              std::pair{"detail", &e.detail}, std::pair{"epoch", &e.epoch}}) {
        auto v = item.find(key);
        if (v == item.end()) continue;
        if (!v->is_string()) return Status::Invalid("must be a string", where + "." + key);
        *out = v->get<std::string>();
      }
      resets.push_back(std::move(e));
    }
  }

  DeviceStatus s;
  s.online = online->get<bool>();
  auto str = [&](const char* name) -> std::optional<std::string> {
    auto it = j.find(name);
    if (it == j.end()) return std::nullopt;
    return it->get<std::string>();
  };
  auto i64 = [&](const char* name) -> std::optional<int64_t> {
    auto it = j.find(name);
    if (it == j.end()) return std::nullopt;
    return it->get<int64_t>();
  };
  auto u64 = [&](const char* name) -> std::optional<uint64_t> {
    auto it = j.find(name);
    if (it == j.end()) return std::nullopt;
    return it->get<uint64_t>();
  };
  s.device_id = str("device_id");
  s.store_id = str("store_id");
  s.kind = str("kind");
  s.version = str("version").value_or("");
  s.clock_ms = i64("clock_ms");
  s.will_ms = i64("will_ms");
  s.last_seq = u64("last_seq").value_or(0);
  s.acked_seq = u64("acked_seq").value_or(0);
  s.backlog = i64("backlog").value_or(0);
  s.backlog_age_s = i64("backlog_age_s").value_or(0);
  s.offers_version = u64("offers_version");
  s.epoch = str("epoch");
  s.outbox_resets = std::move(resets);
  return s;
}

}  // namespace cjd
