// Where the hub's event store lives: a SQLite file (the embedded default, `[store] path`) or a
// PostgreSQL database (`[store] url`, issue 17). Every module that writes or reads the log opens it
// through these two functions with the location the config names (HubConfig::store_location()),
// so none of them knows which backend it has.
#pragma once

#include <memory>
#include <string>

#include "hub/store/event_log_reader.h"
#include "hub/store/event_vault.h"
#include "hub/store/hub_store.h"

namespace cjd::hub {

// `location`: a postgresql:// (or postgres://) URL, else a SQLite file path.
Result<std::unique_ptr<HubStore>> OpenHubStore(const std::string& location,
                                               std::shared_ptr<EventVault> vault = nullptr);
Result<std::unique_ptr<EventLogReader>> OpenEventLogReader(
    const std::string& location, std::shared_ptr<EventVault> vault = nullptr);

}  // namespace cjd::hub
