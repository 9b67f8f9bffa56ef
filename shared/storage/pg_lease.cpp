#include "shared/storage/pg_lease.h"

#include "shared/storage/postgres.h"

namespace cjd::pg {
namespace {

// The lock's key: a 64-bit hash of the name, computed by the server (one definition for every
// process, whatever its language). Prefixed so that a lease cannot take a lock another part of
// the project (migrations, the audit chain) keys with its own numbers by chance.
constexpr const char* kKey = "hashtextextended('cjd.lease.' || $1, 0)";

}  // namespace

Lease::Lease(std::unique_ptr<Connection> db, std::string name)
    : db_(std::move(db)), name_(std::move(name)) {}

Lease::~Lease() = default;  // closing the session releases the lock

Result<std::unique_ptr<Lease>> Lease::Open(const std::string& url, const std::string& name) {
  if (name.empty()) return Status::Invalid("a lease needs a name", "name");
  auto db = Connection::Open(url);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Lease>(new Lease(std::move(*db), name));
}

Result<bool> Lease::Hold() {
  // Held by this very session? (After a reconnection the new session holds nothing.)
  auto mine = db_->QueryInt(
      std::string("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                  "objsubid = 1 AND pid = pg_backend_pid() AND "
                  "((classid::bigint << 32) | objid::bigint) = ") +
          kKey,
      {Text(name_)});
  if (!mine.ok()) {
    held_ = false;
    return mine.status();
  }
  if (*mine > 0) {
    held_ = true;
    return true;
  }
  auto taken = db_->Query(std::string("SELECT pg_try_advisory_lock(") + kKey + ")", {Text(name_)});
  if (!taken.ok()) {
    held_ = false;
    return taken.status();
  }
  held_ = !taken->empty() && taken->front().Text(0) == "t";
  if (held_) ++takes_;
  return held_;
}

Status Lease::Release() {
  if (!held_) return Status::Ok();
  held_ = false;
  auto r = db_->Query(std::string("SELECT pg_advisory_unlock(") + kKey + ")", {Text(name_)});
  return r.status();
}

}  // namespace cjd::pg
