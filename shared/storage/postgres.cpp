#include "shared/storage/postgres.h"

#include <libpq-fe.h>

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
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr) return Status(Code::kUnavailable, "postgresql: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    Status st(Code::kUnavailable,
              "postgresql: cannot connect to " + RedactUrl(url) + ": " +
                  Trimmed(PQerrorMessage(conn)));
    PQfinish(conn);
    return st;
  }
  std::unique_ptr<Connection> c(new Connection(conn));
  // Quiet NOTICEs (e.g. "relation already exists, skipping") instead of printing to stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  CJD_RETURN_IF_ERROR(c->Exec("SET client_min_messages = warning"));
  return c;
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

int Connection::ServerVersion() const { return PQserverVersion(conn_); }

Status Connection::Exec(const std::string& sql) {
  PGresult* res = PQexec(conn_, sql.c_str());
  const ExecStatusType st = PQresultStatus(res);
  Status out = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? Status::Ok() : ErrorOf(conn_, res);
  PQclear(res);
  return out;
}

Result<std::vector<Row>> Connection::Execute(const std::string& sql,
                                             const std::vector<Param>& params, int64_t* changed) {
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
