// Keeping every device's offer cache at its store's version (hub/offers/store_items.h).
//
// The agent reports its watermark W in each heartbeat (offers_version; the ingestor passes
// heartbeats to the planner, the planner here). Sync() sends (sent, target] as soon as a store's
// items change; when a heartbeat shows the device behind what was sent for longer than
// `resend_after`, it sends again from the reported W (an update lost while the device was away,
// a cache deleted on the device). A heartbeat from another connection than the one the hub knew
// of at the send (the device connected since, or for the first time) and behind what was sent is
// answered at once, from its W: what went out while it was away is lost. A device that reports
// more than this hub ever wrote for its store (offers.db replaced or restored) has its store
// renumbered above that and resent whole.
// Updates are sealed with the device's downlink key and chunked (items, bytes, offers per
// update); at most kMaxPublishesPerRound go out per call, the rest at the next.
//
// Not thread-safe: the planner calls it from its thread, under its writer mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "hub/offers/offer_catalogue.h"
#include "hub/offers/store_items.h"
#include "hub/projection/identity_keys.h"
#include "hub/store/hub_store.h"
#include "shared/protocol/keys.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub::offers {

// What the hub knows of one device's offer sync (GET /v1/devices).
struct DeviceOfferSync {
  uint64_t target = 0;    // the store's current version
  uint64_t reported = 0;  // the device's watermark from its last heartbeat
  uint64_t sent = 0;      // the highest version sent
  int64_t sent_ms = 0;    // when an update was last sent to it (0: never in this run)
};

class DeviceSyncer {
 public:
  // Publishes `payload` on `topic` (QoS 1); false when it could not be handed to the broker.
  using Publisher = std::function<bool(const std::string& topic, const std::string& payload)>;

  struct Options {
    int64_t resend_after_ms = 10'000;
    size_t chunk_items = 20'000;    // items per update message, at most
    size_t chunk_bytes = 8u << 20;  // and about this many bytes of JSON
  };
  // Since start.
  struct Counters {
    int64_t updates_sent = 0;      // each chunk counts
    int64_t resends = 0;           // sends from a reported watermark after a lag
    int64_t publish_failures = 0;  // broker down: retried at the next call
    int64_t devices = 0;
    int64_t devices_current = 0;   // reported watermark >= the store's version
  };

  // `items` and `catalogue` outlive this.
  DeviceSyncer(Options options, const KeyPair& hub_keys, const IdentityKeys& id_keys,
             StoreItems& items, const OfferCatalogue& catalogue);
  ~DeviceSyncer();
  void set_publisher(Publisher publisher) { publisher_ = std::move(publisher); }

  // Takes the registered devices (HubStore::ListDevices): a new one with its session keys and
  // the watermark of its last heartbeat (nothing in flight); a known one keeps its sync state;
  // a removed one is forgotten.
  Status Load(const std::vector<DeviceRow>& devices, int64_t now_ms);
  int64_t loaded_ms() const { return loaded_ms_; }
  bool knows(const std::string& device_id) const { return devices_.contains(device_id); }
  // Stores with at least one device.
  std::set<std::string> Stores() const;
  // The lowest watermark the store's devices reported (0 when it has none): every item up to it
  // is on every device of the store.
  uint64_t HeldByAll(const std::string& store) const;

  // A heartbeat's watermark (ignored for an unknown device). `connection`: the heartbeat's
  // will_ms, which names the device's current MQTT connection (0: not reported).
  void Reported(const std::string& device_id, uint64_t watermark, int64_t at_ms,
                int64_t connection = 0);

  // Renumbers the store's items above `above` and resends all of it to its devices.
  Status RenumberStore(const std::string& store, uint64_t above);
  // Renumbers every store a device holds more of than this hub wrote (at start).
  Status RenumberStoresBehindDevices();
  // This hub takes over the sending from another hub instance (offer_planner.h, "Several
  // instances"): the devices hold the other's numbering, which says nothing about this hub's
  // items, so every store is renumbered above anything a device reported (here, or in its last
  // status in `devices`, HubStore::ListDevices; plus a margin for updates a device applied beyond
  // a gap) and above `floor` (the top the last sender recorded), and sent whole.
  // REQUIRES: Load(devices) first.
  Status TakeOver(const std::vector<DeviceRow>& devices, uint64_t floor);
  // The highest version of the stores that have devices (what a sender records as its top).
  uint64_t HighestVersion() const;

  // Sends what each device lacks (see above).
  Status Sync(int64_t now_ms);

  const Counters& counters() const { return counters_; }
  std::map<std::string, DeviceOfferSync> View() const;

 private:
  struct Device;
  Status SendRange(Device& d, uint64_t base, uint64_t target);

  const Options options_;
  const KeyPair hub_keys_;
  const IdentityKeys& id_keys_;
  StoreItems& items_;
  const OfferCatalogue& catalogue_;
  Publisher publisher_;
  std::map<std::string, std::unique_ptr<Device>> devices_;
  int64_t loaded_ms_ = 0;
  int publishes_this_round_ = 0;
  Counters counters_;
};

}  // namespace cjd::hub::offers
