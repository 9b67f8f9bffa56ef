// Opening the outbox at start, surviving a damaged file.
//
// A damaged outbox (it does not open as a database, or PRAGMA quick_check finds a problem) is
// moved aside, never deleted: the file and its -wal/-shm are renamed to
// PATH.corrupt-YYYYMMDDTHHMMSSZ (someone may still recover rows from it). A fresh outbox takes
// its place with a new epoch, and the reset is recorded in it (reason "corrupt", what was found
// and where the file went), so the heartbeat reports it to the hub (GET /v1/devices,
// `outbox_resets`). Other errors (permissions, a full disk, a lock held by another process) are
// returned as they are: they are not damage, and moving the file would hide the events in it.
#pragma once

#include <memory>
#include <string>

#include "agent/outbox/outbox_store.h"
#include "shared/core/status.h"

namespace cjd::agent {

// What the integrity check of an existing outbox found: empty when the file is sound (or absent).
// An error Status when the check itself could not run for another reason than damage.
Result<std::string> CheckOutboxIntegrity(const std::string& path);

// Opens the outbox at `path`, moving a damaged one aside first (see above).
Result<std::unique_ptr<OutboxStore>> OpenOutboxRecovering(const std::string& path, int64_t now_ms);

}  // namespace cjd::agent
