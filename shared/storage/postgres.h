// A thin adapter over libpq, the PostgreSQL client library (issue 17: the hub's state on
// PostgreSQL for deployments that outgrow one SQLite file).
//
//   auto db = pg::Connection::Open("postgresql://cjd@127.0.0.1:5432/cjd");
//   auto rows = (*db)->Query("SELECT name FROM sources WHERE created_ms > $1", {pg::Int(t)});
//   for (const pg::Row& r : *rows) use(r.Text(0));
//
// Parameters are passed as text ($1, $2 ...) or as binary bytes (pg::Bytes, for bytea); results
// come back as text, bytea columns decoded by Row::Bytes. Errors become a Status: a unique or
// exclusion violation (SQLSTATE class 23505) is kConflict, a lost connection kUnavailable, the
// rest kIo, each with PostgreSQL's message and SQLSTATE.
//
// Threading: a Connection is used by one thread at a time (as libpq requires).
//
// A lost connection (the server restarted, a failover, pg_terminate_backend, a network cut) fails
// the statement that finds it with kUnavailable, and the connection is made again before the next
// statement -- unless a transaction was open on the lost one: then every statement fails until
// the caller ends that transaction (ROLLBACK or COMMIT, as Transaction does), so no statement
// meant to be part of it runs on its own. A BEGIN or a SELECT that finds the connection lost
// outside a transaction reconnects and runs once more (nothing had run, or only a read). A
// COMMIT that loses the connection is kUnavailable with its outcome unknown: callers make their
// writes idempotent (the hub's are) and retry.
// Connecting waits at most 10 s (libpq's connect_timeout, unless the URL sets its own), and TCP
// keepalives find a server that vanished without closing within about a minute.
//
// A statement with parameters (Query, Run, QueryInt) is prepared on the connection the second
// time its text is run (at most 256 per connection), then executed by name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "shared/core/status.h"

struct pg_conn;

namespace cjd::pg {

// One parameter: text, binary bytes or NULL.
struct Param {
  enum class Kind { kText, kBinary, kNull };
  Kind kind = Kind::kNull;
  std::string value;
};
inline Param Text(std::string_view v) { return Param{Param::Kind::kText, std::string(v)}; }
inline Param Int(int64_t v) { return Param{Param::Kind::kText, std::to_string(v)}; }
inline Param Bytes(std::string_view v) { return Param{Param::Kind::kBinary, std::string(v)}; }
inline Param Null() { return Param{}; }

// One row of a result (text format).
class Row {
 public:
  bool IsNull(int col) const { return !cells_[col].has_value(); }
  const std::string& Text(int col) const;   // "" for NULL
  int64_t Int(int col) const;               // 0 for NULL
  std::string Bytes(int col) const;         // a bytea column, decoded; "" for NULL

 private:
  friend class Connection;
  std::vector<std::optional<std::string>> cells_;
};

// A schema step of one module's tables, as sqlite::Migration: applied once, in version order,
// each in its own transaction with the version recorded.
struct Migration {
  int version;
  const char* sql;
};

class Connection {
 public:
  // Connects to a postgresql:// URL (libpq's connection URI). kUnavailable, with libpq's reason,
  // when the server cannot be reached or refuses the login.
  static Result<std::unique_ptr<Connection>> Open(const std::string& url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without parameters.
  Status Exec(const std::string& sql);
  // Runs one statement; returns its rows (none for a statement that returns none).
  Result<std::vector<Row>> Query(const std::string& sql, const std::vector<Param>& params = {});
  // Runs one statement; returns the number of rows it changed.
  Result<int64_t> Run(const std::string& sql, const std::vector<Param>& params = {});
  // The first column of the first row as an integer; kNotFound when there is no row.
  Result<int64_t> QueryInt(const std::string& sql, const std::vector<Param>& params = {});

  // Applies `module`'s migrations not applied yet (recorded in schema_versions). Several
  // processes may migrate at once: each migration runs under a transaction-scoped advisory lock,
  // so one applies it and the others see it applied.
  Status Migrate(const std::string& module, const std::vector<Migration>& migrations);

  // The server's version number (e.g. 150018).
  int ServerVersion() const;
  // How many times the connection was made again after it was lost.
  int64_t reconnects() const { return reconnects_; }

 private:
  Connection(pg_conn* conn, std::string url) : conn_(conn), url_(std::move(url)) {}
  // Per-session settings, after every (re)connection.
  Status Setup();
  // Before a statement: makes a lost connection again when no transaction was open on it.
  Status Ready(std::string_view sql);
  // After a statement: notes whether a transaction is open.
  void Track(std::string_view sql);
  // Runs `sql` without parameters (Exec's body), once.
  Status ExecOnce(const std::string& sql);
  Result<std::vector<Row>> ExecuteOnce(const std::string& sql, const std::vector<Param>& params,
                                       int64_t* changed);
  // After `failed`: whether `sql` may run once more, on a connection made again.
  bool RunAgain(const Status& failed, std::string_view sql);
  Result<std::vector<Row>> Execute(const std::string& sql, const std::vector<Param>& params,
                                   int64_t* changed);
  pg_conn* conn_ = nullptr;
  std::string url_;
  bool in_transaction_ = false;  // as of the last statement that reached the server
  int64_t reconnects_ = 0;
  // Statements run more than once are prepared (parsed and planned once per connection): a
  // trickle of single-event commits runs the same dozen statements for every frame.
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  std::unordered_set<std::string> seen_once_;
};

// BEGIN on construction, ROLLBACK on destruction unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Connection& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  const Status& status() const { return status_; }
  Status Commit();

 private:
  Connection& db_;
  Status status_;
  bool open_ = false;
};

// Connections of this process made again after they were lost (every Connection together; for
// the hub's /metrics).
int64_t ReconnectsInProcess();

// Whether `url` names a PostgreSQL database (postgresql:// or postgres://).
bool IsPostgresUrl(std::string_view url);

// The URL without its password (for logs and error messages).
std::string RedactUrl(std::string_view url);

}  // namespace cjd::pg
