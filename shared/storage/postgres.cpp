#include "shared/storage/postgres.h"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace cjd::pg {
namespace {

std::string Trimmed(const char* msg) {
  std::string s = msg != nullptr ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Status ErrorOf(PGconn* conn, PGresult* res) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = Trimmed(res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  if (msg.empty()) msg = Trimmed(PQerrorMessage(conn));
  if (PQstatus(conn) != CONNECTION_OK) {
    return Status(Code::kUnavailable, "postgresql: connection lost: " + msg);
  }
  const std::string sqlstate = state != nullptr ? state : "";
  if (sqlstate == "23505" || sqlstate == "23P01") {
    return Status(Code::kConflict, "postgresql: " + msg + " (" + sqlstate + ")");
  }
  if (sqlstate == "40001" || sqlstate == "40P01") {  // serialization failure, deadlock
    return Status(Code::kUnavailable, "postgresql: " + msg + " (" + sqlstate + ")");
  }
  return Status::Io("postgresql: " + msg + (sqlstate.empty() ? "" : " (" + sqlstate + ")"));
}

std::atomic<int64_t> g_reconnects{0};

// Whether `sql` starts with `word` (case-insensitive), followed by the end or a non-letter.
bool StartsWithWord(std::string_view sql, std::string_view word) {
  size_t i = 0;
  while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
  if (sql.size() - i < word.size()) return false;
  for (size_t k = 0; k < word.size(); ++k) {
    if (std::toupper(static_cast<unsigned char>(sql[i + k])) != word[k]) return false;
  }
  return i + word.size() == sql.size() ||
         !std::isalpha(static_cast<unsigned char>(sql[i + word.size()]));
}

// A statement that may run once more when the connection was found lost while it ran outside a
// transaction: BEGIN (nothing ran yet), a query (reads; at worst a sequence skips a number).
bool SafeToRunAgain(std::string_view sql) {
  return StartsWithWord(sql, "BEGIN") || StartsWithWord(sql, "START") ||
         StartsWithWord(sql, "SELECT");
}

bool EndsTransaction(std::string_view sql) {
  return StartsWithWord(sql, "COMMIT") || StartsWithWord(sql, "ROLLBACK") ||
         StartsWithWord(sql, "END") || StartsWithWord(sql, "ABORT");
}

}  // namespace

const std::string& Row::Text(int col) const {
  static const std::string kEmpty;
  return cells_[col].has_value() ? *cells_[col] : kEmpty;
}

int64_t Row::Int(int col) const {
  return cells_[col].has_value() ? std::strtoll(cells_[col]->c_str(), nullptr, 10) : 0;
}

std::string Row::Bytes(int col) const {
  if (!cells_[col].has_value()) return {};
  size_t n = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(cells_[col]->c_str()), &n);
  if (raw == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& url) {
  // Defaults first: the URL's own settings, expanded from `dbname`, replace them.
  const char* keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "dbname", nullptr};
  const char* values[] = {"10", "30", "10", "3", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Status(Code::kUnavailable, "postgresql: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    Status st(Code::kUnavailable,
              "postgresql: cannot connect to " + RedactUrl(url) + ": " +
                  Trimmed(PQerrorMessage(conn)));
    PQfinish(conn);
    return st;
  }
  std::unique_ptr<Connection> c(new Connection(conn, url));
  // Quiet NOTICEs (e.g. "relation already exists, skipping") instead of printing to stderr. The
  // processor belongs to the PGconn and stays across PQreset.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  CJD_RETURN_IF_ERROR(c->Setup());
  return c;
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

int Connection::ServerVersion() const { return PQserverVersion(conn_); }

Status Connection::Setup() { return ExecOnce("SET client_min_messages = warning"); }

Status Connection::Ready(std::string_view sql) {
  if (PQstatus(conn_) == CONNECTION_OK) return Status::Ok();
  if (in_transaction_) {
    // The server rolled the transaction back when the connection went; its remaining statements
    // must not run on their own on a new connection. Its end (ROLLBACK, or a COMMIT that now
    // fails) lets the next statement reconnect.
    if (EndsTransaction(sql)) in_transaction_ = false;
    return Status(Code::kUnavailable,
                  "postgresql: connection lost during a transaction (not committed)");
  }
  PQreset(conn_);
  // Prepared statements belong to the lost session.
  prepared_.clear();
  seen_once_.clear();
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Status(Code::kUnavailable, "postgresql: connection lost; reconnecting to " +
                                          RedactUrl(url_) + " failed: " +
                                          Trimmed(PQerrorMessage(conn_)));
  }
  ++reconnects_;
  g_reconnects.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("postgresql: connection to {} lost, connected again", RedactUrl(url_));
  return Setup();
}

void Connection::Track(std::string_view sql) {
  if (PQstatus(conn_) == CONNECTION_OK) {
    const PGTransactionStatusType t = PQtransactionStatus(conn_);
    in_transaction_ = t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
  } else if (EndsTransaction(sql)) {
    in_transaction_ = false;  // lost at COMMIT/ROLLBACK: that transaction is over either way
  }
}

Status Connection::ExecOnce(const std::string& sql) {
  PGresult* res = PQexec(conn_, sql.c_str());
  const ExecStatusType st = PQresultStatus(res);
  Status out = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? Status::Ok() : ErrorOf(conn_, res);
  PQclear(res);
  Track(sql);
  return out;
}

bool Connection::RunAgain(const Status& failed, std::string_view sql) {
  // Found lost while idle (the server restarted, or ended the session): a BEGIN or a query runs
  // once more on a new connection.
  if (failed.ok() || PQstatus(conn_) == CONNECTION_OK || in_transaction_ || !SafeToRunAgain(sql)) {
    return false;
  }
  return Ready(sql).ok();
}

Status Connection::Exec(const std::string& sql) {
  CJD_RETURN_IF_ERROR(Ready(sql));
  Status out = ExecOnce(sql);
  if (RunAgain(out, sql)) out = ExecOnce(sql);
  return out;
}

Result<std::vector<Row>> Connection::Execute(const std::string& sql,
                                             const std::vector<Param>& params, int64_t* changed) {
  CJD_RETURN_IF_ERROR(Ready(sql));
  auto out = ExecuteOnce(sql, params, changed);
  if (!out.ok() && RunAgain(out.status(), sql)) out = ExecuteOnce(sql, params, changed);
  return out;
}

Result<std::vector<Row>> Connection::ExecuteOnce(const std::string& sql,
                                                 const std::vector<Param>& params,
                                                 int64_t* changed) {
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size()), formats(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    values[i] = p.kind == Param::Kind::kNull ? nullptr : p.value.data();
    lengths[i] = static_cast<int>(p.value.size());
    formats[i] = p.kind == Param::Kind::kBinary ? 1 : 0;
  }
  constexpr size_t kMaxPrepared = 256, kMaxSeen = 1024;
  const std::string* name = nullptr;
  if (auto it = prepared_.find(sql); it != prepared_.end()) {
    name = &it->second;
  } else if (seen_once_.count(sql) != 0 && prepared_.size() < kMaxPrepared) {
    std::string fresh = "cjd_s" + std::to_string(prepared_.size() + 1);
    PGresult* prep = PQprepare(conn_, fresh.c_str(), sql.c_str(), static_cast<int>(params.size()),
                               nullptr);
    if (PQresultStatus(prep) != PGRES_COMMAND_OK) {
      Status err = ErrorOf(conn_, prep);
      PQclear(prep);
      Track(sql);
      return err;
    }
    PQclear(prep);
    seen_once_.erase(sql);
    name = &prepared_.emplace(sql, std::move(fresh)).first->second;
  } else {
    if (seen_once_.size() >= kMaxSeen) seen_once_.clear();
    seen_once_.insert(sql);
  }
  PGresult* res =
      name != nullptr
          ? PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()), values.data(),
                           lengths.data(), formats.data(), 0)
          : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                         values.data(), lengths.data(), formats.data(), 0);
  Track(sql);
  const ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Status err = ErrorOf(conn_, res);
    PQclear(res);
    return err;
  }
  std::vector<Row> rows;
  const int n = PQntuples(res), cols = PQnfields(res);
  rows.reserve(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    Row row;
    row.cells_.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      if (PQgetisnull(res, r, c)) {
        row.cells_.emplace_back(std::nullopt);
      } else {
        row.cells_.emplace_back(std::string(PQgetvalue(res, r, c),
                                            static_cast<size_t>(PQgetlength(res, r, c))));
      }
    }
    rows.push_back(std::move(row));
  }
  if (changed != nullptr) {
    const char* t = PQcmdTuples(res);
    *changed = (t != nullptr && *t != '\0') ? std::strtoll(t, nullptr, 10) : 0;
  }
  PQclear(res);
  return rows;
}

Result<std::vector<Row>> Connection::Query(const std::string& sql,
                                           const std::vector<Param>& params) {
  return Execute(sql, params, nullptr);
}

Result<int64_t> Connection::Run(const std::string& sql, const std::vector<Param>& params) {
  int64_t changed = 0;
  auto rows = Execute(sql, params, &changed);
  if (!rows.ok()) return rows.status();
  return changed;
}

Result<int64_t> Connection::QueryInt(const std::string& sql, const std::vector<Param>& params) {
  auto rows = Query(sql, params);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::NotFound("no row: " + sql);
  return rows->front().Int(0);
}

Status Connection::Migrate(const std::string& module, const std::vector<Migration>& migrations) {
  {
    // Two processes creating the table at once would collide in the catalogue: one at a time.
    Transaction tx(*this);
    CJD_RETURN_IF_ERROR(tx.status());
    CJD_RETURN_IF_ERROR(Query("SELECT pg_advisory_xact_lock(hashtext('cjd-migrate'))").status());
    CJD_RETURN_IF_ERROR(Exec(
        "CREATE TABLE IF NOT EXISTS schema_versions ("
        " module text NOT NULL, version integer NOT NULL, applied_at timestamptz NOT NULL"
        " DEFAULT now(), PRIMARY KEY (module, version))"));
    CJD_RETURN_IF_ERROR(tx.Commit());
  }
  for (const Migration& m : migrations) {
    Transaction tx(*this);
    CJD_RETURN_IF_ERROR(tx.status());
    // One migrator at a time per module (hub instances starting together).
    CJD_RETURN_IF_ERROR(
        Query("SELECT pg_advisory_xact_lock(hashtext('cjd-migrate:' || $1))", {Text(module)})
            .status());
    auto done = QueryInt("SELECT count(*) FROM schema_versions WHERE module = $1 AND version = $2",
                         {Text(module), Int(m.version)});
    if (!done.ok()) return done.status();
    if (*done > 0) continue;
    Status st = Exec(m.sql);
    if (!st.ok()) {
      return Status(st.code(), module + " migration " + std::to_string(m.version) + ": " +
                                   st.message());
    }
    CJD_RETURN_IF_ERROR(Run("INSERT INTO schema_versions (module, version) VALUES ($1, $2)",
                            {Text(module), Int(m.version)})
                            .status());
    CJD_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::Ok();
}

Transaction::Transaction(Connection& db) : db_(db) {
  status_ = db_.Exec("BEGIN");
  open_ = status_.ok();
}

Transaction::~Transaction() {
  if (open_) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  if (!open_) return status_.ok() ? Status::Internal("transaction not open") : status_;
  open_ = false;
  return db_.Exec("COMMIT");
}

int64_t ReconnectsInProcess() { return g_reconnects.load(std::memory_order_relaxed); }

bool IsPostgresUrl(std::string_view url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string RedactUrl(std::string_view url) {
  // scheme://user:password@host... -> scheme://user:***@host...
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t at = url.find('@', scheme + 3);
  if (at == std::string_view::npos) return std::string(url);
  const size_t colon = url.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

}  // namespace cjd::pg
