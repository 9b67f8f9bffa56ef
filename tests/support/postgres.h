// Postgres: a real PostgreSQL server (Debian's postgresql package: /usr/lib/postgresql/N/bin) for
// integration tests and benchmarks, as Mosquitto is for the broker: `initdb` in a temporary
// folder, then `postgres` on a free loopback port with its socket in that folder. Never a system
// service, never another address.
//
//   if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
//   Postgres pg = Postgres::Start();
//   std::string url = pg.CreateDatabase("hub");   // postgresql://cjd@127.0.0.1:PORT/hub
//
// PostgreSQL refuses to run as root: when the test runs as root (CI, the fresh-machine check),
// the cluster belongs to the unprivileged user `nobody` and both programs run as it (setpriv),
// in a folder of /tmp made for it and removed afterwards. The superuser `cjd` logs in without a
// password (trust), from loopback only.
//
// Threading: one thread at a time. Every wait is bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "tests/support/process.h"

namespace cjd::testing {

class Postgres {
 public:
  // The folder with initdb and postgres (the newest /usr/lib/postgresql/N/bin); "" if none.
  static std::string BinDir();
  static bool Available();
  // A message for GTEST_SKIP() when Available() is false.
  static std::string UnavailableReason();

  // initdb, then starts the server; returns once it accepts connections (30 s at most).
  // Throws std::runtime_error with the server's output on failure.
  static Postgres Start();

  Postgres(Postgres&&) noexcept = default;
  Postgres& operator=(Postgres&&) noexcept = default;
  Postgres(const Postgres&) = delete;
  Postgres& operator=(const Postgres&) = delete;
  ~Postgres();  // fast shutdown (SIGINT), SIGKILL after 10 s, then the folder is removed

  uint16_t port() const { return port_; }
  // postgresql://cjd@127.0.0.1:PORT/DB
  std::string Url(const std::string& db = "postgres") const;
  // CREATE DATABASE `name` (a new, empty one); returns its Url.
  std::string CreateDatabase(const std::string& name);
  // Runs SQL with psql against `db` and returns its output (unaligned, tuples only). Throws on
  // failure. For checks from outside the code under test.
  std::string Psql(const std::string& sql, const std::string& db = "postgres") const;

  pid_t pid() const { return process_.pid(); }
  bool Running() { return process_.Running(); }
  // SIGKILL to every server process at once, as in a crash of the database machine.
  void Kill();
  // Fast shutdown (SIGINT: clients are disconnected), as in a restart or failover; Start again
  // with Resume().
  void Stop();
  // Starts the server again on the same data and port (after Stop or Kill; crash recovery runs
  // after a Kill); returns once it accepts connections. Throws as Start.
  void Resume();
  std::string Diagnostics() const;

 private:
  Postgres() = default;
  // Starts `postgres` on port_; true once it accepts connections (20 s at most).
  bool Launch();
  std::filesystem::path root_;     // the cluster's folder (data/, the socket, the log)
  uint16_t port_ = 0;
  bool as_nobody_ = false;
  Process process_;
};

}  // namespace cjd::testing
