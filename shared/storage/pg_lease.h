// pg::Lease: one holder at a time of a named piece of singleton work among the processes that
// share one PostgreSQL database (issue 17: several hub instances; webhooks, offer pushes and any
// scheduled job run on one of them, and another takes over when it dies).
//
//   auto lease = pg::Lease::Open(url, "webhooks");
//   every second or so:  if (*(*lease)->Hold()) DoOneUnitOfWork();
//
// A session-level advisory lock on the lease's own connection (pg_try_advisory_lock on a 64-bit
// hash of the name). The server releases it when the session ends: the holder's process exits
// or is killed (its socket closes), its session is terminated, or its connection is cut and TCP
// keepalives find it (about a minute; a dead machine's lease is free only then). Another process
// that calls Hold() every T seconds takes it over within T of that.
//
// Hold() verifies on the server, each call, that this session still holds the lock: a session
// that was lost and made again (pg::Connection reconnects on its own) no longer holds it, and
// Hold() then says false at once, or tries to take the lock again on the new session. Between
// the server ending a holder's session and that holder's next Hold(), the holder still believes
// it holds the lease: work done under it should be idempotent, or short, as the hub's is.
//
// Threading: one thread at a time, like the connection it owns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "shared/core/status.h"

namespace cjd::pg {

class Connection;

class Lease {
 public:
  // Connects (its own session). Nothing is taken until Hold().
  static Result<std::unique_ptr<Lease>> Open(const std::string& url, const std::string& name);
  ~Lease();  // releases the lease (the session ends)
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  // Takes the lease if it is free, or keeps it: true while this session holds it. kUnavailable
  // when the database cannot be reached (the lease is then not held).
  Result<bool> Hold();
  // Gives the lease up (another process's next Hold() takes it).
  Status Release();
  // As of the last Hold() or Release().
  bool held() const { return held_; }
  // How many times Hold() took the lease (rather than found this session still holding it).
  // Work whose state another holder may have changed meanwhile starts over whenever this moves:
  // Hold() says true before and after a session lost and made again (another process may have
  // held the lease in between), and only this tells the two apart.
  uint64_t takes() const { return takes_; }
  const std::string& name() const { return name_; }

 private:
  Lease(std::unique_ptr<Connection> db, std::string name);

  std::unique_ptr<Connection> db_;
  std::string name_;
  bool held_ = false;
  uint64_t takes_ = 0;
};

}  // namespace cjd::pg
