// A thin SQLite wrapper: statements prepared once, bind -> step -> reset, explicit transactions,
// numbered migrations. Not thread-safe: one Database per thread that uses it (SQLite's own
// locking coordinates several connections to one file).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shared/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cjd::sqlite {

class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);   // bound as TEXT (copied)
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindNull(int index);
  Statement& BindDouble(int index, double value);  // REAL

  // Steps once: true when a row is available, false when done; an error Status otherwise.
  Result<bool> Step();
  // Steps to completion, discarding rows, then resets.
  Status Run();
  // Resets and clears bindings, ready for the next use.
  void Reset();

  int64_t ColumnInt(int index) const;          // 0-based
  double ColumnDouble(int index) const;
  std::string ColumnText(int index) const;
  std::string_view ColumnView(int index) const;  // valid until the next Step/Reset
  bool ColumnIsNull(int index) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

struct OpenOptions {
  bool wal = true;
  bool synchronous_full = true;   // PRAGMA synchronous=FULL (else NORMAL)
  int busy_timeout_ms = 5000;
  bool read_only = false;
  // PRAGMA secure_delete=ON: deleted and overwritten content is zeroed in the file (cells and
  // freed pages), so personal data that was deleted does not linger in free pages. Every store of
  // this project holds personal data at some point, hence on by default (Debian's SQLite has it
  // on by default too; set explicitly for other builds).
  bool secure_delete = true;
};

// One migration: applied in order of `version` inside a transaction; the applied version is kept
// in PRAGMA user_version. Migrations are append-only: never edit a released one.
struct Migration {
  int version;
  const char* sql;
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                const OpenOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  // Applies every migration whose version is above the current user_version.
  Status Migrate(const std::vector<Migration>& migrations);
  // A single integer from a query with no parameters (e.g. "SELECT count(*) FROM t").
  Result<int64_t> QueryInt(std::string_view sql);
  // Checkpoints the WAL into the database and empties it (wal_checkpoint(TRUNCATE)), so no
  // deleted or overwritten page stays in it. Each try waits for readers of other connections up
  // to the connection's busy timeout (OpenOptions::busy_timeout_ms); up to `attempts` tries,
  // `pause_ms` apart. True when the WAL was emptied (or the database has none), false when
  // readers kept it busy on every try; an error only when SQLite fails.
  Result<bool> TruncateWal(int attempts = 2, int pause_ms = 50);

  int64_t Changes() const;
  int64_t LastInsertRowid() const;
  sqlite3* raw() { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// The "file:" URI that opens `path` read-only (for ATTACH; the characters URIs reserve are
// escaped). Connections are opened with SQLITE_OPEN_URI.
std::string ReadOnlyUri(const std::string& path);

// RAII transaction: BEGIN IMMEDIATE on construction (check status()), ROLLBACK on destruction
// unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  const Status& status() const { return begin_status_; }
  Status Commit();

 private:
  Database& db_;
  Status begin_status_;
  bool done_ = false;
};

// Statements prepared on first use and kept for the connection's life, keyed by the SQL literal's
// address (pass string literals only: two equal literals at different addresses are two entries).
// Get() hands the statement back reset and unbound. Not thread-safe, like the Database.
class StatementCache {
 public:
  explicit StatementCache(Database& db) : db_(db) {}
  Result<Statement*> Get(const char* sql);
  // Resets every cached statement, so none keeps a read snapshot open.
  void ResetAll();

 private:
  Database& db_;
  std::unordered_map<const char*, std::unique_ptr<Statement>> statements_;
};

}  // namespace cjd::sqlite
