#include "hub/store/open_store.h"

#include "hub/store/pg_hub_store.h"
#include "hub/store/sqlite_hub_store.h"
#include "shared/storage/postgres.h"

namespace cjd::hub {

Result<std::unique_ptr<HubStore>> OpenHubStore(const std::string& location,
                                               std::shared_ptr<EventVault> vault) {
  if (pg::IsPostgresUrl(location)) {
    auto s = PgHubStore::Open(location, std::move(vault));
    if (!s.ok()) return s.status();
    return std::unique_ptr<HubStore>(std::move(*s));
  }
  auto s = SqliteHubStore::Open(location, std::move(vault));
  if (!s.ok()) return s.status();
  return std::unique_ptr<HubStore>(std::move(*s));
}

Result<std::unique_ptr<EventLogReader>> OpenEventLogReader(const std::string& location,
                                                           std::shared_ptr<EventVault> vault) {
  if (pg::IsPostgresUrl(location)) return OpenPgEventLogReader(location, std::move(vault));
  return OpenSqliteEventLogReader(location, std::move(vault));
}

}  // namespace cjd::hub
