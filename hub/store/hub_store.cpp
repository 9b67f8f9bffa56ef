#include "hub/store/hub_store.h"

#include "hub/store/event_vault.h"

namespace cjd::hub {

Status SealCollectEvents(EventVault* vault, const std::string& source,
                         const std::vector<CollectEvent>& events, std::vector<VaultedEvent>* out) {
  std::vector<std::string_view> bodies;
  std::vector<EventRef> refs;
  for (const CollectEvent& e : events) {
    bodies.push_back(e.body);
    refs.push_back(EventRef{source, e.event_id});
  }
  return SealEvents(vault, bodies, refs, out);
}

Status SealIngestBatches(EventVault* vault, const std::vector<IngestBatch>& batches,
                         std::vector<VaultedEvent>* out) {
  std::vector<std::string_view> bodies;
  std::vector<EventRef> refs;
  for (const IngestBatch& b : batches) {
    for (const WireEvent& e : b.events) {
      bodies.push_back(e.body);
      refs.push_back(EventRef{b.device_id, e.event_id});
    }
  }
  return SealEvents(vault, bodies, refs, out);
}

void AddCounterRow(const std::string& name, int64_t value, StoreCounters* c) {
  if (name == "events_total") c->events_total = value;
  else if (name == "duplicate_events") c->duplicate_events = value;
  else if (name.rfind("type:", 0) == 0) c->events_by_type[name.substr(5)] = value;
  else if (name.rfind("rejected:", 0) == 0) c->rejected_by_reason[name.substr(9)] = value;
}

}  // namespace cjd::hub
