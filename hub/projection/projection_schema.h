// The projection database (profiles.db): profiles, identities, orders and the merge log, derived
// from the hub's event log (hub.db) by the Projector. The event log stays the source of truth:
// deleting profiles.db and restarting the hub rebuilds all of it (same identity.key: same hashes).
#pragma once

#include <memory>
#include <string>

#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

// Opens (and migrates) the projection at `profiles_path` and registers money_sum(). `read_only`
// connections serve the API. The event log is not attached: it is read through the store's
// EventLogReader (hub/store/event_log_reader.h).
Result<std::unique_ptr<sqlite::Database>> OpenProjection(const std::string& profiles_path,
                                                         bool read_only);

}  // namespace cjd::hub
