// The projector's internals shared by its translation units (projector.cpp: batches, events and
// identity; projector_orders.cpp: orders, redemptions, impressions, the offers backfill;
// projector_merges.cpp: merges, rebuilds and splits). Not for use outside hub/projection.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/identity/identifier.h"
#include "hub/projection/projector.h"
#include "shared/core/status.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

struct Projector::Statements {
  sqlite::Statement find_ident, counts, kept, insert_profile, insert_ident,
      insert_pevent, get_profile, update_profile, update_figures, get_order, insert_order, update_order,
      add_category, set_cursor, bump, add_store, add_redemption, order_redemptions_to,
      add_impression, log_redemption;
};

namespace projector_internal {

using identity::IdKey;

// Makes the writer's transactions durable (synchronous = FULL) while it lives: for writes that
// are not derived from the log (splits, the matcher's merges, kept-apart decisions), which must
// survive a crash once answered. Back to NORMAL after.
class FullSync {
 public:
  explicit FullSync(sqlite::Database& db) : db_(db), status_(db.Exec("PRAGMA synchronous = FULL")) {}
  ~FullSync() { (void)db_.Exec("PRAGMA synchronous = NORMAL"); }
  FullSync(const FullSync&) = delete;
  FullSync& operator=(const FullSync&) = delete;
  const Status& status() const { return status_; }

 private:
  sqlite::Database& db_;
  Status status_;
};

inline std::string_view KeyBytes(const IdKey& k) {
  return {reinterpret_cast<const char*>(k.data()), k.size()};
}

inline IdKey KeyFrom(std::string_view bytes) {
  IdKey k{};
  std::copy_n(bytes.data(), std::min(bytes.size(), k.size()), k.data());
  return k;
}

inline std::string JoinKeys(const std::vector<IdKey>& keys) {
  std::string out;
  for (const IdKey& k : keys) out += KeyBytes(k);
  return out;
}

inline std::vector<IdKey> SplitKeys(std::string_view blob) {
  std::vector<IdKey> out;
  for (size_t i = 0; i + 16 <= blob.size(); i += 16) out.push_back(KeyFrom(blob.substr(i, 16)));
  return out;
}

inline constexpr const char* kConsentKey = "$consent";

// The profile's derived figures while they are being changed.
struct ProfileRow {
  int64_t first_seen_ms = std::numeric_limits<int64_t>::max();
  int64_t last_seen_ms = std::numeric_limits<int64_t>::min();
  int64_t events = 0;
  int64_t loyalty_scans = 0;
  std::set<std::string> channels;
  // {"name": {"v": value, "t": ms}}; the latest value by event time wins. Keys starting with
  // '$' are the hub's own (attribute names are [a-z0-9_]): "$consent" is marketing consent.
  nlohmann::json attributes = nlohmann::json::object();

  void Add(const Event& e) {
    first_seen_ms = std::min(first_seen_ms, e.occurred_at_ms);
    last_seen_ms = std::max(last_seen_ms, e.occurred_at_ms);
    ++events;
    if (e.type == EventType::kLoyaltyScan) ++loyalty_scans;
    channels.insert(e.channel);
    if (e.marketing_consent.has_value()) {
      auto cur = attributes.find(kConsentKey);
      if (cur == attributes.end() || (*cur)["t"].get<int64_t>() <= e.occurred_at_ms) {
        attributes[kConsentKey] = {{"v", *e.marketing_consent}, {"t", e.occurred_at_ms}};
      }
    }
    if (!e.attributes.empty()) {
      Result<nlohmann::json> attrs = ParseJsonExact(e.attributes);
      if (!attrs.ok()) return;
      for (auto it = attrs->begin(); it != attrs->end(); ++it) {
        auto cur = attributes.find(it.key());
        if (cur != attributes.end() && (*cur)["t"].get<int64_t>() > e.occurred_at_ms) continue;
        attributes[it.key()] = {{"v", it.value()}, {"t", e.occurred_at_ms}};
      }
    }
  }
  void Fold(const ProfileRow& o) {
    first_seen_ms = std::min(first_seen_ms, o.first_seen_ms);
    last_seen_ms = std::max(last_seen_ms, o.last_seen_ms);
    events += o.events;
    loyalty_scans += o.loyalty_scans;
    channels.insert(o.channels.begin(), o.channels.end());
    for (auto it = o.attributes.begin(); it != o.attributes.end(); ++it) {
      auto cur = attributes.find(it.key());
      if (cur != attributes.end() &&
          (*cur)["t"].get<int64_t>() >= it.value()["t"].get<int64_t>()) {
        continue;
      }
      attributes[it.key()] = it.value();
    }
  }
  std::string ChannelsText() const {
    std::string s;
    for (const std::string& c : channels) {
      if (!s.empty()) s.push_back(',');
      s += c;
    }
    return s;
  }
};

// A profile's presence at one store.
struct StoreSeen {
  int64_t first_ms = std::numeric_limits<int64_t>::max();
  int64_t last_ms = std::numeric_limits<int64_t>::min();
  int64_t events = 0;
  void Add(int64_t ms) {
    first_ms = std::min(first_ms, ms);
    last_ms = std::max(last_ms, ms);
    ++events;
  }
};

// The offers an order redeems: those its sale lines or the order itself name, each once. A
// returned item that names an offer is not a redemption (nor does it undo one: the offer was
// used when the item was bought).
std::set<std::string> RedeemedOffers(const Order& o);

// A profile's row of `profiles`, read with and written by the projector's statements.
// Attributes are sealed at rest (SealAttributes, identity_keys.h) under `keys`. Without
// `attributes` they are not opened (p.attributes stays empty): for a change that leaves them as
// they are, written back with WriteProfileFigures.
Result<ProfileRow> ReadProfile(sqlite::Statement& get, int64_t profile_id, const IdentityKeys& keys,
                               bool attributes = true);
Status WriteProfile(sqlite::Statement& update, int64_t profile_id, const ProfileRow& p,
                    const IdentityKeys& keys);
// Every column WriteProfile writes but the attributes, which keep their stored text.
Status WriteProfileFigures(sqlite::Statement& update_figures, int64_t profile_id,
                           const ProfileRow& p);

}  // namespace projector_internal
}  // namespace cjd::hub
