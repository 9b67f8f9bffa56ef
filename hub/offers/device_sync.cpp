#include "hub/offers/device_sync.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "hub/identity/identifier.h"
#include "shared/protocol/device_status.h"
#include "shared/protocol/offer_update.h"
#include "shared/protocol/topics.h"

namespace cjd::hub::offers {
namespace {

// Update messages one round may publish (the hub's MQTT connection also carries the acks of
// every device's uplink): the rest go out at the next round, a tick later.
constexpr int kMaxPublishesPerRound = 256;
// A reconnection's resend (Sync) at most this often per device.
constexpr int64_t kMinReconnectResendMs = 1'000;

void WarnAhead(const std::string& store, uint64_t reported) {
  spdlog::warn("offers: a device of store {} holds version {}, above anything this hub wrote "
               "for it (offers.db replaced?): renumbering the store and sending all of it",
               store, reported);
}

}  // namespace

struct DeviceSyncer::Device {
  std::string id;
  std::string store;
  SessionKeys keys;
  uint64_t reported = 0;
  int64_t reported_ms = 0;  // when the last heartbeat arrived (0: none since start)
  uint64_t reported_at_send = 0;  // `reported` when the last send went out
  // The connection its last heartbeat named (will_ms; 0: unknown), and the one known at the
  // last send.
  int64_t connection = 0;
  int64_t connection_at_send = 0;
  uint64_t sent = 0;
  int64_t sent_ms = 0;
};

DeviceSyncer::DeviceSyncer(Options options, const KeyPair& hub_keys, const IdentityKeys& id_keys,
                       StoreItems& items, const OfferCatalogue& catalogue)
    : options_(options),
      hub_keys_(hub_keys),
      id_keys_(id_keys),
      items_(items),
      catalogue_(catalogue) {}

DeviceSyncer::~DeviceSyncer() = default;

Status DeviceSyncer::Load(const std::vector<DeviceRow>& devices, int64_t now_ms) {
  std::map<std::string, std::unique_ptr<Device>> next;
  for (const DeviceRow& row : devices) {
    const std::string& id = row.record.device_id;
    auto it = devices_.find(id);
    if (it != devices_.end()) {  // known: keep its sync state
      next[id] = std::move(it->second);
      continue;
    }
    auto pub = KeyFromBase64(row.record.public_key, "public_key");
    if (!pub.ok()) continue;  // the ingestor logs it
    auto keys = HubSessionKeys(hub_keys_, *pub, row.record.key_id);
    if (!keys.ok()) continue;
    auto d = std::make_unique<Device>();
    d->id = id;
    d->store = row.record.store_id;
    d->keys = *keys;
    // The watermark of its last heartbeat before this start; nothing is in flight.
    if (!row.state.status_json.empty()) {
      auto status = DecodeDeviceStatus(row.state.status_json);
      if (status.ok() && status->offers_version) d->reported = *status->offers_version;
      if (status.ok() && status->online && status->will_ms) d->connection = *status->will_ms;
    }
    d->sent = d->reported;
    d->connection_at_send = d->connection;
    next[id] = std::move(d);
  }
  devices_ = std::move(next);
  loaded_ms_ = now_ms;
  return Status::Ok();
}

std::set<std::string> DeviceSyncer::Stores() const {
  std::set<std::string> stores;
  for (const auto& [id, d] : devices_) stores.insert(d->store);
  return stores;
}

uint64_t DeviceSyncer::HeldByAll(const std::string& store) const {
  uint64_t held = UINT64_MAX;
  for (const auto& [id, d] : devices_)
    if (d->store == store) held = std::min(held, d->reported);
  return held == UINT64_MAX ? 0 : held;
}

void DeviceSyncer::Reported(const std::string& device_id, uint64_t watermark, int64_t at_ms,
                            int64_t connection) {
  auto it = devices_.find(device_id);
  if (it == devices_.end()) return;
  it->second->reported = watermark;
  it->second->reported_ms = at_ms;
  if (connection != 0) it->second->connection = connection;
}

Status DeviceSyncer::RenumberStoresBehindDevices() {
  // A device that holds more than offers.db ever wrote for its store (the file was replaced or
  // restored): number its store above it before anything new is written, or new items could
  // land at versions the device believes it holds.
  std::map<std::string, uint64_t> highest;
  for (const auto& [id, d] : devices_) highest[d->store] = std::max(highest[d->store], d->reported);
  for (const auto& [store, w] : highest) {
    if (w > items_.version(store)) {
      WarnAhead(store, w);
      CJD_RETURN_IF_ERROR(RenumberStore(store, w));
    }
  }
  return Status::Ok();
}

uint64_t DeviceSyncer::HighestVersion() const {
  uint64_t top = 0;
  for (const auto& [id, d] : devices_) top = std::max(top, items_.version(d->store));
  return top;
}

Status DeviceSyncer::TakeOver(const std::vector<DeviceRow>& devices, uint64_t floor) {
  // Items a device applied from an update that arrived before the gap below it closed carry
  // versions above its reported watermark; the other instance numbered them at most this far
  // beyond it (a device is never sent more than kMaxPublishesPerRound chunks ahead per round,
  // but a margin this size costs nothing: versions are 64-bit).
  constexpr uint64_t kMargin = uint64_t{1} << 24;
  // What each device reported last: in a heartbeat this instance took, or in the last status
  // the shared store kept (another instance took it).
  std::map<std::string, uint64_t> highest;
  for (const auto& [id, d] : devices_) highest[d->store] = std::max(highest[d->store], d->reported);
  for (const DeviceRow& row : devices) {
    if (row.state.status_json.empty() || !highest.contains(row.record.store_id)) continue;
    auto status = DecodeDeviceStatus(row.state.status_json);
    if (!status.ok() || !status->offers_version) continue;
    uint64_t& w = highest[row.record.store_id];
    w = std::max(w, *status->offers_version);
  }
  for (const auto& [store, w] : highest) {
    // Above the recorded top too: a sender that recorded itself and sent moments ago (whose
    // updates the devices have not reported yet) numbered at most a little beyond it.
    CJD_RETURN_IF_ERROR(
        RenumberStore(store, std::max({w, items_.version(store), floor}) + kMargin));
  }
  if (!highest.empty()) {
    spdlog::info("offers: took over sending offers to the devices; {} store(s) renumbered and "
                 "sent whole", highest.size());
  }
  return Status::Ok();
}

std::map<std::string, DeviceOfferSync> DeviceSyncer::View() const {
  std::map<std::string, DeviceOfferSync> view;
  for (const auto& [id, d] : devices_) view[id] = {items_.version(d->store), d->reported, d->sent, d->sent_ms};
  return view;
}

Status DeviceSyncer::RenumberStore(const std::string& store, uint64_t above) {
  CJD_RETURN_IF_ERROR(items_.Renumber(store, above));
  // Everything from the start, to every device of the store.
  for (auto& [id, d] : devices_) {
    if (d->store != store) continue;
    d->sent = 0;
    d->reported = 0;
  }
  return Status::Ok();
}

Status DeviceSyncer::Sync(int64_t now) {
  publishes_this_round_ = 0;
  int64_t current = 0;
  for (auto& [id, dp] : devices_) {
    Device& d = *dp;
    const uint64_t target = items_.version(d.store);
    if (d.reported > target) {
      // The device holds versions this hub never wrote (offers.db was replaced or restored).
      WarnAhead(d.store, d.reported);
      CJD_RETURN_IF_ERROR(RenumberStore(d.store, d.reported));
      continue;  // sent at the next round
    }
    if (d.reported >= target) {
      d.sent = std::max(d.sent, d.reported);
      ++current;
      continue;
    }
    // Behind what was sent, in a heartbeat that arrived after the send (sent_ms is read after
    // the round's planning, so one that came during it does not count) from a connection the
    // hub did not know of at the send: what went out meanwhile was lost (the device was away,
    // or had never connected), so it gets everything from what it holds, now rather than after
    // resend_after. (A connection made just before the send may have received it: then the
    // range is sent twice, and the device skips what it has.)
    // A heartbeat that arrived before the last send names a connection that was there at the
    // send, and got it.
    if (d.connection != 0 && d.reported_ms != 0 && d.reported_ms < d.sent_ms) {
      d.connection_at_send = d.connection;
    }
    // At most one such resend a second: a link that keeps dropping (or two agents with one
    // device id knocking each other off the broker) must not send the range at every connect.
    const bool reconnected = d.reported_ms > d.sent_ms && d.connection != 0 &&
                             d.connection != d.connection_at_send && d.reported < d.sent &&
                             now - d.sent_ms >= kMinReconnectResendMs;
    bool resend = reconnected;
    if (d.sent >= target && !reconnected) {
      // Sent, not yet reported. A device that moved on since the send is still applying a
      // large state: wait. A heartbeat well after the send with no progress means the update
      // was lost: send again from what it holds.
      if (d.reported > d.reported_at_send) {
        d.reported_at_send = d.reported;
        d.sent_ms = now;
        continue;
      }
      if (d.reported_ms > d.sent_ms + options_.resend_after_ms) {
        resend = true;
      } else {
        continue;
      }
    }
    if (publishes_this_round_ >= kMaxPublishesPerRound) continue;  // the rest next round
    const uint64_t base = resend ? d.reported : std::max(d.sent, d.reported);
    // A resend starts again from what the device holds: each update the broker takes moves
    // `sent` on from there, so one refused half-way goes on from the last taken at the next
    // round (rather than waiting resend_after, then starting over).
    if (resend) d.sent = base;
    Status sent = SendRange(d, base, target);
    if (!sent.ok()) {
      counters_.publish_failures += 1;
      continue;  // the broker is down: the next round tries again
    }
    d.sent = target;
    d.sent_ms = now;
    d.reported_at_send = d.reported;
    d.connection_at_send = d.connection;
    // Heartbeats older than this send say nothing about it.
    d.reported_ms = 0;
    if (resend) counters_.resends += 1;
  }
  counters_.devices = static_cast<int64_t>(devices_.size());
  counters_.devices_current = current;
  return Status::Ok();
}

Status DeviceSyncer::SendRange(Device& d, uint64_t base, uint64_t target) {
  if (!publisher_) return Status(Code::kUnavailable, "offers: no publisher");
  OfferUpdate update;
  update.base = base;
  size_t items = 0;
  size_t bytes = 0;  // about the JSON size of the items so far
  uint64_t last = base;
  auto flush = [&](uint64_t version) -> Status {
    update.version = version;
    const std::string payload =
        SealOfferUpdate(update, d.id, d.keys.downlink, d.keys.key_id);
    if (!publisher_(topics::Down(d.id), payload))
      return Status(Code::kUnavailable, "offers: the broker did not take the update");
    counters_.updates_sent += 1;
    ++publishes_this_round_;
    // The device can hold this much now: a failure later resends from here, not from the base;
    // and its current connection has been served (a reconnection's resend that fails half-way
    // goes on from here at the next round rather than starting over).
    d.sent = std::max(d.sent, version);
    d.connection_at_send = d.connection;
    update = OfferUpdate();
    update.base = version;
    items = 0;
    bytes = 0;
    return Status::Ok();
  };
  Status walked = items_.ForEachInRange(d.store, base, target, [&](const RangeItem& item) {
    // An update ends between versions, never inside one (each item has its own version).
    if (items >= options_.chunk_items || bytes >= options_.chunk_bytes ||
        update.offers.size() >= kMaxOffersPerUpdate) {
      CJD_RETURN_IF_ERROR(flush(last));
    }
    last = item.version;
    ++items;
    bytes += 64 + item.key.size() + item.content.size();
    if (item.kind == kOfferItem) {
      OfferRecord r;
      r.id = std::string(item.key);
      r.version = item.version;
      const OfferRow* o = catalogue_.Find(r.id);
      // Deleted in the catalogue (through another instance) before this one planned it: sent
      // as deleted already, as the next round will plan it.
      if (item.content == kRemoved || o == nullptr || o->deleted) {
        r.deleted = true;
      } else {
        const OfferSpec& s = o->spec;
        bytes += s.title.size() + s.text.size() + 200;
        r.title = s.title;
        r.text = s.text;
        r.valid_from = s.valid_from;
        r.valid_until = s.valid_until;
        r.priority = s.priority;
        r.requires_consent = s.requires_consent;
        r.max_per_customer = s.max_per_customer;
      }
      update.offers.push_back(std::move(r));
    } else if (item.kind == kAssignmentItem) {
      auto loyalty = OpenValue(id_keys_, item.sealed);
      if (!loyalty.ok() || !IsValidLoyaltyId(*loyalty)) {
        spdlog::error("offers: store {}: an assignment's loyalty id does not open; skipped",
                      d.store);
        return Status::Ok();
      }
      OfferAssignment a{*loyalty, {}, item.version};
      if (item.content == kRemoved) {
        a.deleted = true;
      } else {
        a.offers = SplitOfferIds(item.content);
      }
      update.assignments.push_back(std::move(a));
    } else {
      update.general = GeneralOffers{SplitOfferIds(item.content), item.version};
    }
    return Status::Ok();
  });
  if (!walked.ok()) return walked;
  return flush(target);
}

}  // namespace cjd::hub::offers
