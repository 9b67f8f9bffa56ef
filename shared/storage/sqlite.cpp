// SQLite adapter. Every failing SQLite call becomes a Status carrying sqlite3_errmsg; nothing
// here throws. Connections are opened with SQLITE_OPEN_NOMUTEX: a Database belongs to one thread
// at a time (see sqlite.h), so SQLite's per-connection mutex would only cost time.
#include "shared/storage/sqlite.h"

#include <sqlite3.h>

#include <chrono>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <utility>

namespace cjd::sqlite {
namespace {

// SQLITE_CONSTRAINT -> kConflict (a UNIQUE, FOREIGN KEY, CHECK... violation is the caller's
// conflict to resolve), SQLITE_FULL -> kFull (disk or max_page_count), everything else kIo.
Status StatusFromCode(int rc, std::string message) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return {Code::kConflict, std::move(message)};
    case SQLITE_FULL: return {Code::kFull, std::move(message)};
    default: return Status::Io(std::move(message));
  }
}

Status StatusFromDb(sqlite3* db, int rc) {
  return StatusFromCode(rc, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

// A failed bind is a programming error (wrong index, statement not prepared) or an absurdly
// large value; it cannot be reported through the fluent Bind() API, so crash loudly.
void CheckBind(sqlite3_stmt* stmt, int rc, int index) {
  if (rc == SQLITE_OK) return;
  std::fprintf(stderr, "cjd::sqlite: bind of parameter %d failed: %s (%s)\n", index,
               sqlite3_errstr(rc), stmt != nullptr ? sqlite3_sql(stmt) : "no statement");
  std::abort();
}

bool OnlyWhitespace(const char* begin, const char* end) {
  for (const char* p = begin; p < end; ++p) {
    if (!std::isspace(static_cast<unsigned char>(*p)) && *p != ';') return false;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Statement

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  CheckBind(stmt_, sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::BindDouble(int index, double value) {
  CheckBind(stmt_, sqlite3_bind_double(stmt_, index, value), index);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  CheckBind(stmt_,
            sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                SQLITE_UTF8),
            index);
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  // A zero-length blob with a null pointer would bind NULL; bind an empty blob explicitly.
  const int rc = bytes.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                               : sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(),
                                                     SQLITE_TRANSIENT);
  CheckBind(stmt_, rc, index);
  return *this;
}

Statement& Statement::BindNull(int index) {
  CheckBind(stmt_, sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Result<bool> Statement::Step() {
  if (stmt_ == nullptr) return Status::Internal("Step on an empty statement");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_);
  Status status = StatusFromCode(rc, sqlite3_errmsg(db));
  // Leave the statement reusable (and release its locks); bindings are kept.
  sqlite3_reset(stmt_);
  return status;
}

Status Statement::Run() {
  for (;;) {
    Result<bool> row = Step();
    if (!row.ok()) {
      Reset();
      return row.status();
    }
    if (!*row) break;
  }
  Reset();
  return Status::Ok();
}

void Statement::Reset() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::ColumnInt(int index) const { return sqlite3_column_int64(stmt_, index); }

double Statement::ColumnDouble(int index) const { return sqlite3_column_double(stmt_, index); }

std::string Statement::ColumnText(int index) const { return std::string(ColumnView(index)); }

std::string_view Statement::ColumnView(int index) const {
  const void* data = sqlite3_column_type(stmt_, index) == SQLITE_BLOB
                         ? sqlite3_column_blob(stmt_, index)
                         : static_cast<const void*>(sqlite3_column_text(stmt_, index));
  const int size = sqlite3_column_bytes(stmt_, index);  // after the pointer, as SQLite requires
  if (data == nullptr) return {};
  return {static_cast<const char*>(data), static_cast<size_t>(size)};
}

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

// ---------------------------------------------------------------------------------------------
// Database

Result<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                 const OpenOptions& options) {
  // URI filenames: a connection may ATTACH another file read-only ("file:...?mode=ro").
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  flags |= options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open database " + path + ": " +
                          (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    sqlite3_close_v2(raw);
    return Status::Io(std::move(message));
  }
  sqlite3_extended_result_codes(raw, 1);
  std::unique_ptr<Database> db(new Database(raw));

  auto fail = [&path](const Status& status) {
    return Status(status.code(), "cannot set up database " + path + ": " + status.message());
  };
  if (sqlite3_busy_timeout(raw, options.busy_timeout_ms) != SQLITE_OK) {
    return fail(StatusFromDb(raw, SQLITE_ERROR));
  }
  // journal_mode is persistent in the file; a read-only connection cannot change it.
  if (options.wal && !options.read_only) {
    Status st = db->Exec("PRAGMA journal_mode=WAL");
    if (!st.ok()) return fail(st);
  }
  Status st = db->Exec(options.synchronous_full ? "PRAGMA synchronous=FULL"
                                                : "PRAGMA synchronous=NORMAL");
  if (!st.ok()) return fail(st);
  st = db->Exec("PRAGMA foreign_keys=ON");
  if (!st.ok()) return fail(st);
  if (!options.read_only) {
    // Explicit both ways: Debian builds SQLite with SQLITE_SECURE_DELETE (on by default), other
    // builds do not.
    st = db->Exec(options.secure_delete ? "PRAGMA secure_delete=ON" : "PRAGMA secure_delete=OFF");
    if (!st.ok()) return fail(st);
  }
  // Fail now, not on the first query, if the file is not a database or cannot be read.
  Result<int64_t> version = db->QueryInt("PRAGMA user_version");
  if (!version.ok()) return fail(version.status());
  return db;
}

Database::~Database() {
  // close_v2 defers the close until every Statement of this connection is finalized.
  sqlite3_close_v2(db_);
}

Status Database::Exec(std::string_view sql) {
  std::string text(sql);  // sqlite3_exec wants a NUL-terminated string
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
  sqlite3_free(error);
  return StatusFromCode(rc, std::move(message));
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) {
    return StatusFromCode(rc, std::string(sqlite3_errmsg(db_)) + " in: " + std::string(sql));
  }
  Statement statement(stmt);
  if (stmt == nullptr) return Status::Invalid("empty SQL statement");
  if (tail != nullptr && !OnlyWhitespace(tail, sql.data() + sql.size())) {
    return Status::Invalid("Prepare takes one SQL statement, got more: " + std::string(sql));
  }
  return statement;
}

Status Database::Migrate(const std::vector<Migration>& migrations) {
  int previous = 0;
  for (const Migration& m : migrations) {
    if (m.version <= previous) {
      return Status::Invalid("migration versions must be positive and increasing, got " +
                             std::to_string(m.version) + " after " + std::to_string(previous));
    }
    previous = m.version;
  }
  Result<int64_t> current = QueryInt("PRAGMA user_version");
  if (!current.ok()) return current.status();
  if (*current > previous) {
    return {Code::kConflict, "database schema version " + std::to_string(*current) +
                                 " is newer than this program's newest migration " +
                                 std::to_string(previous)};
  }
  for (const Migration& m : migrations) {
    if (m.version <= *current) continue;
    const std::string where = "migration " + std::to_string(m.version) + ": ";
    Transaction tx(*this);
    if (!tx.status().ok()) return {tx.status().code(), where + tx.status().message()};
    // Another process may have migrated since the read above; re-check under the write lock.
    Result<int64_t> now = QueryInt("PRAGMA user_version");
    if (!now.ok()) return {now.status().code(), where + now.status().message()};
    if (*now >= m.version) continue;  // Transaction rolls back its empty work
    Status st = Exec(m.sql);
    if (st.ok()) st = Exec("PRAGMA user_version = " + std::to_string(m.version));
    if (st.ok()) st = tx.Commit();
    if (!st.ok()) return {st.code(), where + st.message()};
  }
  return Status::Ok();
}

Result<bool> Database::TruncateWal(int attempts, int pause_ms) {
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    Result<Statement> ck = Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!ck.ok()) return ck.status();
    Result<bool> row = ck->Step();
    if (!row.ok()) return row.status();
    // (busy, log frames, checkpointed frames): busy = 0 and the log emptied (-1: no WAL).
    if (*row && ck->ColumnInt(0) == 0 && ck->ColumnInt(1) <= 0) return true;
  }
  return false;
}

Result<int64_t> Database::QueryInt(std::string_view sql) {
  Result<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("no row from: " + std::string(sql));
  return stmt->ColumnInt(0);
}

int64_t Database::Changes() const { return sqlite3_changes64(db_); }

int64_t Database::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

// ---------------------------------------------------------------------------------------------
// Transaction

Transaction::Transaction(Database& db) : db_(db), begin_status_(db.Exec("BEGIN IMMEDIATE")) {}

Transaction::~Transaction() {
  if (!begin_status_.ok() || done_) return;
  // A failed COMMIT or statement may already have rolled the transaction back.
  if (sqlite3_get_autocommit(db_.raw()) == 0) db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  if (!begin_status_.ok()) return begin_status_;
  if (done_) return Status::Internal("transaction already committed");
  Status st = db_.Exec("COMMIT");
  if (st.ok()) done_ = true;
  return st;
}

std::string ReadOnlyUri(const std::string& path) {
  std::string uri = "file:";
  for (const char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[static_cast<unsigned char>(c) >> 4];
      uri += kHex[static_cast<unsigned char>(c) & 0xF];
    } else {
      uri += c;
    }
  }
  return uri + "?mode=ro";
}

Result<Statement*> StatementCache::Get(const char* sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    auto prepared = db_.Prepare(sql);
    if (!prepared.ok()) return prepared.status();
    it = statements_.emplace(sql, std::make_unique<Statement>(std::move(*prepared))).first;
  }
  it->second->Reset();
  return it->second.get();
}

void StatementCache::ResetAll() {
  for (auto& [sql, statement] : statements_) statement->Reset();
}

}  // namespace cjd::sqlite
