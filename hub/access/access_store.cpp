#include "hub/access/access_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "hub/collect/source_key.h"
#include "shared/core/private_files.h"
#include "shared/protocol/keys.h"
#include "shared/storage/postgres.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub::access {
namespace {

constexpr size_t kKeyBytes = 32;

const std::vector<sqlite::Migration> kMigrations = {
    {1,
     "CREATE TABLE tokens ("
     "  token_hash BLOB PRIMARY KEY,"
     "  name TEXT NOT NULL,"
     "  role TEXT NOT NULL,"
     "  created_ms INTEGER NOT NULL,"
     "  revoked_ms INTEGER"
     ") WITHOUT ROWID;"
     "CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_ms IS NULL;"
     "CREATE TABLE audit_log ("
     "  seq INTEGER PRIMARY KEY,"
     "  at_ms INTEGER NOT NULL,"
     "  actor TEXT NOT NULL,"
     "  role TEXT NOT NULL,"
     "  action TEXT NOT NULL,"
     "  target TEXT NOT NULL,"
     "  status INTEGER NOT NULL,"
     "  detail TEXT NOT NULL,"
     "  mac BLOB NOT NULL"
     ");"
     // Append-only inside SQLite too: an UPDATE or DELETE through any connection fails. (Someone
     // with the file can drop the triggers; the chain's macs are what catches that.)
     "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
     "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
     "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
     "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"},
};

// The same tables on PostgreSQL (module "access"), prefixed: they share the hub's database.
const std::vector<pg::Migration> kPgMigrations = {
    {1,
     "CREATE TABLE access_tokens ("
     "  token_hash bytea PRIMARY KEY,"
     "  name text NOT NULL,"
     "  role text NOT NULL,"
     "  created_ms bigint NOT NULL,"
     "  revoked_ms bigint);"
     "CREATE UNIQUE INDEX access_tokens_live_name ON access_tokens (name) WHERE revoked_ms IS NULL;"
     "CREATE TABLE access_audit ("
     "  seq bigint PRIMARY KEY,"
     "  at_ms bigint NOT NULL,"
     "  actor text NOT NULL,"
     "  role text NOT NULL,"
     "  action text NOT NULL,"
     "  target text NOT NULL,"
     "  status integer NOT NULL,"
     "  detail text NOT NULL,"
     "  mac bytea NOT NULL);"
     "CREATE FUNCTION access_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
     "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;"
     "CREATE TRIGGER access_audit_no_change BEFORE UPDATE OR DELETE ON access_audit "
     "FOR EACH ROW EXECUTE FUNCTION access_audit_append_only();"
     "CREATE TRIGGER access_audit_no_truncate BEFORE TRUNCATE ON access_audit "
     "FOR EACH STATEMENT EXECUTE FUNCTION access_audit_append_only();"
     // The audit key's fingerprint (never the key): instances sharing the chain share the key.
     "CREATE TABLE access_meta (key text PRIMARY KEY, value text NOT NULL);"},
};

std::string TokenHash(std::string_view token) {
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr,
                     0);
  return out;
}

void Put64(crypto_generichash_state* st, int64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(static_cast<uint64_t>(v) >> (8 * i));
  crypto_generichash_update(st, b, sizeof b);
}

// Length-prefixed, so that moving bytes from one field to the next changes the mac.
void PutText(crypto_generichash_state* st, std::string_view s) {
  Put64(st, static_cast<int64_t>(s.size()));
  crypto_generichash_update(st, reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

TokenRecord TokenFrom(const sqlite::Statement& s, int first) {
  TokenRecord t;
  t.name = s.ColumnText(first);
  t.role = ParseRole(s.ColumnView(first + 1)).value_or(Role::kAnalyst);
  t.created_ms = s.ColumnInt(first + 2);
  if (!s.ColumnIsNull(first + 3)) t.revoked_ms = s.ColumnInt(first + 3);
  return t;
}

TokenRecord TokenFromRow(const pg::Row& r) {
  TokenRecord t;
  t.name = r.Text(0);
  t.role = ParseRole(r.Text(1)).value_or(Role::kAnalyst);
  t.created_ms = r.Int(2);
  if (!r.IsNull(3)) t.revoked_ms = r.Int(3);
  return t;
}

AuditEntry EntryFromRow(const pg::Row& r) {
  AuditEntry e;
  e.seq = r.Int(0);
  e.at_ms = r.Int(1);
  e.actor = r.Text(2);
  e.role = r.Text(3);
  e.action = r.Text(4);
  e.target = r.Text(5);
  e.status = static_cast<int>(r.Int(6));
  e.detail = r.Text(7);
  e.mac = r.Bytes(8);
  return e;
}

AuditEntry EntryFrom(const sqlite::Statement& s) {
  AuditEntry e;
  e.seq = s.ColumnInt(0);
  e.at_ms = s.ColumnInt(1);
  e.actor = s.ColumnText(2);
  e.role = s.ColumnText(3);
  e.action = s.ColumnText(4);
  e.target = s.ColumnText(5);
  e.status = static_cast<int>(s.ColumnInt(6));
  e.detail = s.ColumnText(7);
  e.mac = std::string(s.ColumnView(8));
  return e;
}

// The audit key's fingerprint: a keyed hash that tells keys apart and reveals nothing of them.
std::string KeyFingerprint(const std::string& key) {
  unsigned char out[16];
  static const char kTag[] = "cjd-audit-key-fingerprint-v1";
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(kTag),
                     sizeof kTag - 1, reinterpret_cast<const unsigned char*>(key.data()),
                     key.size());
  char hex[sizeof out * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, out, sizeof out);
  return hex;
}

Result<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  std::string key(kKeyBytes, '\0');
  size_t len = 0;
  if (!in || sodium_base642bin(reinterpret_cast<unsigned char*>(key.data()), key.size(),
                               text.data(), text.size(), nullptr, &len, nullptr,
                               sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != kKeyBytes) {
    return Status::Invalid("access.audit_key_file: " + path + " does not hold a base64 32-byte key",
                           "access.audit_key_file");
  }
  return key;
}

}  // namespace

std::string AuditMac(const std::string& key, const std::string& prev_mac, const AuditEntry& e) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                          crypto_generichash_BYTES);
  PutText(&st, "cjd-audit-v1");
  PutText(&st, prev_mac);
  Put64(&st, e.seq);
  Put64(&st, e.at_ms);
  PutText(&st, e.actor);
  PutText(&st, e.role);
  PutText(&st, e.action);
  PutText(&st, e.target);
  Put64(&st, e.status);
  PutText(&st, e.detail);
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(out.data()), out.size());
  return out;
}

Result<std::string> LoadOrCreateAuditKey(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return ReadKeyFile(path);
  unsigned char raw[kKeyBytes];
  randombytes_buf(raw, sizeof raw);
  std::string text(sodium_base64_ENCODED_LEN(kKeyBytes, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(text.data(), text.size(), raw, kKeyBytes, sodium_base64_VARIANT_ORIGINAL);
  sodium_memzero(raw, sizeof raw);
  text.resize(std::strlen(text.c_str()));
  text += "\n";
  // Written whole under a temporary name, then linked to the real one: link() fails when the
  // file appeared meanwhile (another process made it), and then that key is the one.
  const std::string tmp = path + ".new";
  CJD_RETURN_IF_ERROR(WriteSecretFile(tmp, text));
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp.c_str());
  if (linked != 0 && err != EEXIST) {
    return Status::Invalid("access.audit_key_file: cannot create " + path + ": " +
                               std::strerror(err),
                           "access.audit_key_file");
  }
  return ReadKeyFile(path);
}

// What the store keeps, and where: the logic (hashing tokens, chaining macs, verifying) stays in
// AccessStore, the same over both.
class AccessStore::Tables {
 public:
  virtual ~Tables() = default;
  // Inserts a token; kConflict when a live token has that name.
  virtual Status InsertToken(const std::string& hash, const std::string& name, Role role,
                             int64_t now_ms) = 0;
  // Whether a live token `name` was there (and is now revoked).
  virtual Result<bool> Revoke(const std::string& name, int64_t now_ms) = 0;
  virtual Result<std::optional<TokenRecord>> FindLive(const std::string& hash) = 0;
  virtual Result<std::vector<TokenRecord>> List() = 0;
  // Appends under the log's write lock: `mac` is given the previous entry's mac (32 zero bytes
  // before the first) and `entry` with its seq set.
  using MacOf = std::function<std::string(const std::string& prev_mac, const AuditEntry& entry)>;
  virtual Result<AuditEntry> Append(AuditEntry entry, const MacOf& mac) = 0;
  virtual Result<std::vector<AuditEntry>> Read(int64_t after, int limit) = 0;
  // Every entry, oldest first, as of one moment (appends meanwhile are not seen).
  virtual Status Walk(const std::function<void(const AuditEntry&)>& each) = 0;
  // The audit key's fingerprint: recorded by the first store to open, compared by the others.
  // Ok when it matches (or the backend keeps none: a SQLite file belongs to one hub).
  virtual Status ClaimKey(const std::string& fingerprint) = 0;
};

class AccessStore::SqliteTables final : public AccessStore::Tables {
 public:
  explicit SqliteTables(std::unique_ptr<sqlite::Database> db)
      : db_(std::move(db)), statements_(*db_) {}

  Status InsertToken(const std::string& hash, const std::string& name, Role role,
                     int64_t now_ms) override {
    sqlite::Transaction tx(*db_);
    CJD_RETURN_IF_ERROR(tx.status());
    auto live = statements_.Get("SELECT 1 FROM tokens WHERE name = ?1 AND revoked_ms IS NULL");
    if (!live.ok()) return live.status();
    (*live)->Bind(1, name);
    auto found = (*live)->Step();
    (*live)->Reset();
    if (!found.ok()) return found.status();
    if (*found) {
      return Status(Code::kConflict, "a token named " + name + " exists: revoke it first");
    }
    auto ins = statements_.Get(
        "INSERT INTO tokens (token_hash, name, role, created_ms) VALUES (?1, ?2, ?3, ?4)");
    if (!ins.ok()) return ins.status();
    (*ins)->BindBlob(1, hash).Bind(2, name).Bind(3, RoleName(role)).Bind(4, now_ms);
    CJD_RETURN_IF_ERROR((*ins)->Run());
    return tx.Commit();
  }

  Result<bool> Revoke(const std::string& name, int64_t now_ms) override {
    auto s = statements_.Get(
        "UPDATE tokens SET revoked_ms = ?2 WHERE name = ?1 AND revoked_ms IS NULL");
    if (!s.ok()) return s.status();
    (*s)->Bind(1, name).Bind(2, now_ms);
    CJD_RETURN_IF_ERROR((*s)->Run());
    return db_->Changes() > 0;
  }

  Result<std::optional<TokenRecord>> FindLive(const std::string& hash) override {
    auto s = statements_.Get(
        "SELECT name, role, created_ms, revoked_ms FROM tokens "
        "WHERE token_hash = ?1 AND revoked_ms IS NULL");
    if (!s.ok()) return s.status();
    (*s)->BindBlob(1, hash);
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    std::optional<TokenRecord> out;
    if (*r) out = TokenFrom(**s, 0);
    (*s)->Reset();
    return out;
  }

  Result<std::vector<TokenRecord>> List() override {
    auto s = statements_.Get(
        "SELECT name, role, created_ms, revoked_ms FROM tokens ORDER BY created_ms, name");
    if (!s.ok()) return s.status();
    std::vector<TokenRecord> out;
    while (true) {
      auto r = (*s)->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      out.push_back(TokenFrom(**s, 0));
    }
    (*s)->Reset();
    return out;
  }

  Result<AuditEntry> Append(AuditEntry entry, const MacOf& mac) override {
    sqlite::Transaction tx(*db_);
    CJD_RETURN_IF_ERROR(tx.status());
    auto last = statements_.Get("SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (!last.ok()) return last.status();
    auto r = (*last)->Step();
    if (!r.ok()) return r.status();
    std::string prev(crypto_generichash_BYTES, '\0');
    entry.seq = 1;
    if (*r) {
      entry.seq = (*last)->ColumnInt(0) + 1;
      prev = std::string((*last)->ColumnView(1));
    }
    (*last)->Reset();
    entry.mac = mac(prev, entry);
    auto ins = statements_.Get(
        "INSERT INTO audit_log (seq, at_ms, actor, role, action, target, status, detail, mac) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!ins.ok()) return ins.status();
    (*ins)->Bind(1, entry.seq).Bind(2, entry.at_ms).Bind(3, entry.actor).Bind(4, entry.role);
    (*ins)->Bind(5, entry.action).Bind(6, entry.target).Bind(7, static_cast<int64_t>(entry.status));
    (*ins)->Bind(8, entry.detail).BindBlob(9, entry.mac);
    CJD_RETURN_IF_ERROR((*ins)->Run());
    CJD_RETURN_IF_ERROR(tx.Commit());
    return entry;
  }

  Result<std::vector<AuditEntry>> Read(int64_t after, int limit) override {
    auto s = statements_.Get(
        "SELECT seq, at_ms, actor, role, action, target, status, detail, mac FROM audit_log "
        "WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    if (!s.ok()) return s.status();
    (*s)->Bind(1, after).Bind(2, static_cast<int64_t>(limit));
    std::vector<AuditEntry> out;
    while (true) {
      auto r = (*s)->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      out.push_back(EntryFrom(**s));
    }
    (*s)->Reset();
    return out;
  }

  Status Walk(const std::function<void(const AuditEntry&)>& each) override {
    // One read transaction, so appends made meanwhile do not move the walk.
    CJD_RETURN_IF_ERROR(db_->Exec("BEGIN"));
    auto s = db_->Prepare(
        "SELECT seq, at_ms, actor, role, action, target, status, detail, mac FROM audit_log "
        "ORDER BY seq");
    Status failed = s.status();
    while (failed.ok()) {
      auto r = s->Step();
      if (!r.ok()) {
        failed = r.status();
        break;
      }
      if (!*r) break;
      each(EntryFrom(*s));
    }
    (void)db_->Exec("COMMIT");
    return failed;
  }

  Status ClaimKey(const std::string&) override { return Status::Ok(); }

 private:
  std::unique_ptr<sqlite::Database> db_;
  sqlite::StatementCache statements_;
};

class AccessStore::PgTables final : public AccessStore::Tables {
 public:
  explicit PgTables(std::unique_ptr<pg::Connection> db) : db_(std::move(db)) {}

  Status InsertToken(const std::string& hash, const std::string& name, Role role,
                     int64_t now_ms) override {
    // The partial unique index on live names decides between instances adding one at once.
    Status st = db_->Run("INSERT INTO access_tokens (token_hash, name, role, created_ms) "
                         "VALUES ($1, $2, $3, $4)",
                         {pg::Bytes(hash), pg::Text(name), pg::Text(RoleName(role)),
                          pg::Int(now_ms)})
                    .status();
    if (st.code() == Code::kConflict) {
      return Status(Code::kConflict, "a token named " + name + " exists: revoke it first");
    }
    return st;
  }

  Result<bool> Revoke(const std::string& name, int64_t now_ms) override {
    auto n = db_->Run("UPDATE access_tokens SET revoked_ms = $2 WHERE name = $1 AND "
                      "revoked_ms IS NULL",
                      {pg::Text(name), pg::Int(now_ms)});
    if (!n.ok()) return n.status();
    return *n > 0;
  }

  Result<std::optional<TokenRecord>> FindLive(const std::string& hash) override {
    auto rows = db_->Query("SELECT name, role, created_ms, revoked_ms FROM access_tokens "
                           "WHERE token_hash = $1 AND revoked_ms IS NULL",
                           {pg::Bytes(hash)});
    if (!rows.ok()) return rows.status();
    std::optional<TokenRecord> out;
    if (!rows->empty()) out = TokenFromRow(rows->front());
    return out;
  }

  Result<std::vector<TokenRecord>> List() override {
    auto rows = db_->Query("SELECT name, role, created_ms, revoked_ms FROM access_tokens "
                           "ORDER BY created_ms, name");
    if (!rows.ok()) return rows.status();
    std::vector<TokenRecord> out;
    for (const pg::Row& r : *rows) out.push_back(TokenFromRow(r));
    return out;
  }

  Result<AuditEntry> Append(AuditEntry entry, const MacOf& mac) override {
    pg::Transaction tx(*db_);
    CJD_RETURN_IF_ERROR(tx.status());
    // One appender at a time across instances and cjdctl: each reads the mac the previous
    // one committed.
    CJD_RETURN_IF_ERROR(
        db_->Query("SELECT pg_advisory_xact_lock(hashtext('cjd-audit-append'))").status());
    auto last = db_->Query("SELECT seq, mac FROM access_audit ORDER BY seq DESC LIMIT 1");
    if (!last.ok()) return last.status();
    std::string prev(crypto_generichash_BYTES, '\0');
    entry.seq = 1;
    if (!last->empty()) {
      entry.seq = last->front().Int(0) + 1;
      prev = last->front().Bytes(1);
    }
    entry.mac = mac(prev, entry);
    CJD_RETURN_IF_ERROR(
        db_->Run("INSERT INTO access_audit (seq, at_ms, actor, role, action, target, status, "
                 "detail, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                 {pg::Int(entry.seq), pg::Int(entry.at_ms), pg::Text(entry.actor),
                  pg::Text(entry.role), pg::Text(entry.action), pg::Text(entry.target),
                  pg::Int(entry.status), pg::Text(entry.detail), pg::Bytes(entry.mac)})
            .status());
    CJD_RETURN_IF_ERROR(tx.Commit());
    return entry;
  }

  Result<std::vector<AuditEntry>> Read(int64_t after, int limit) override {
    auto rows = db_->Query(kRead, {pg::Int(after), pg::Int(limit)});
    if (!rows.ok()) return rows.status();
    std::vector<AuditEntry> out;
    out.reserve(rows->size());
    for (const pg::Row& r : *rows) out.push_back(EntryFromRow(r));
    return out;
  }

  Status Walk(const std::function<void(const AuditEntry&)>& each) override {
    // One snapshot, read in pages (the log grows without bound).
    pg::Transaction tx(*db_);
    CJD_RETURN_IF_ERROR(tx.status());
    CJD_RETURN_IF_ERROR(db_->Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    for (int64_t after = 0;;) {
      auto rows = db_->Query(kRead, {pg::Int(after), pg::Int(10'000)});
      if (!rows.ok()) return rows.status();
      if (rows->empty()) break;
      for (const pg::Row& r : *rows) each(EntryFromRow(r));
      after = rows->back().Int(0);
    }
    return tx.Commit();
  }

  Status ClaimKey(const std::string& fingerprint) override {
    CJD_RETURN_IF_ERROR(db_->Run("INSERT INTO access_meta (key, value) VALUES ('audit_key', $1) "
                                 "ON CONFLICT (key) DO NOTHING",
                                 {pg::Text(fingerprint)})
                            .status());
    auto rows = db_->Query("SELECT value FROM access_meta WHERE key = 'audit_key'");
    if (!rows.ok()) return rows.status();
    if (rows->empty() || rows->front().Text(0) != fingerprint) {
      return Status::Invalid(
          "access.audit_key_file: this key differs from the one of the hub instances sharing "
          "the database's audit log: copy the first hub instance's audit key file",
          "access.audit_key_file");
    }
    return Status::Ok();
  }

 private:
  static constexpr const char* kRead =
      "SELECT seq, at_ms, actor, role, action, target, status, detail, mac FROM access_audit "
      "WHERE seq > $1 ORDER BY seq LIMIT $2";
  std::unique_ptr<pg::Connection> db_;
};

AccessStore::AccessStore(std::unique_ptr<Tables> tables, std::string key)
    : tables_(std::move(tables)), key_(std::move(key)) {}

AccessStore::~AccessStore() = default;

Result<std::unique_ptr<AccessStore>> AccessStore::Open(const std::string& location,
                                                       const std::string& audit_key) {
  if (audit_key.size() != kKeyBytes) return Status::Invalid("the audit key must be 32 bytes");
  std::unique_ptr<Tables> tables;
  if (pg::IsPostgresUrl(location)) {
    auto db = pg::Connection::Open(location);
    if (!db.ok()) return db.status();
    CJD_RETURN_IF_ERROR((*db)->Migrate("access", kPgMigrations));
    tables = std::make_unique<PgTables>(std::move(*db));
  } else {
    auto db = sqlite::Database::Open(location, {});
    if (!db.ok()) return db.status();
    CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
    tables = std::make_unique<SqliteTables>(std::move(*db));
  }
  CJD_RETURN_IF_ERROR(tables->ClaimKey(KeyFingerprint(audit_key)));
  return std::unique_ptr<AccessStore>(new AccessStore(std::move(tables), audit_key));
}

namespace {
// How many audit entries `location` holds, without creating anything (0 when there is no log).
Result<int64_t> ExistingAuditEntries(const std::string& location) {
  std::error_code ec;
  if (pg::IsPostgresUrl(location)) {
    auto db = pg::Connection::Open(location);
    if (!db.ok()) return db.status();
    auto there = (*db)->QueryInt("SELECT (to_regclass('access_audit') IS NOT NULL)::int");
    if (!there.ok()) return there.status();
    if (*there == 0) return 0;
    return (*db)->QueryInt("SELECT count(*) FROM access_audit");
  }
  if (!std::filesystem::exists(location, ec)) return 0;
  auto db = sqlite::Database::Open(location, {.read_only = true});
  if (!db.ok()) return 0;
  auto n = (*db)->QueryInt("SELECT count(*) FROM audit_log");
  return n.ok() ? *n : 0;
}
}  // namespace

Result<std::unique_ptr<AccessStore>> AccessStore::OpenWithKeyFile(
    const std::string& location, const std::string& audit_key_file) {
  std::error_code ec;
  if (!std::filesystem::exists(audit_key_file, ec)) {
    auto n = ExistingAuditEntries(location);
    if (!n.ok()) return n.status();
    if (*n > 0) {
      return Status::Invalid("access.audit_key_file: " + audit_key_file + " is missing but " +
                                 (pg::IsPostgresUrl(location) ? pg::RedactUrl(location)
                                                              : location) +
                                 " holds audit entries: restore the key from its backup (or "
                                 "copy it from another hub instance)",
                             "access.audit_key_file");
    }
  }
  auto key = LoadOrCreateAuditKey(audit_key_file);
  if (!key.ok()) return key.status();
  return Open(location, *key);
}

Result<std::string> AccessStore::AddToken(const std::string& name, Role role, int64_t now_ms) {
  if (!IsValidSourceName(name)) {  // the same rule as source names
    return Status::Invalid("name: 1 to 40 characters of A-Z a-z 0-9 . _ -", "name");
  }
  if (name == "admin") {
    return Status(Code::kConflict, "name: \"admin\" is the name of hub.toml's [http] token");
  }
  const std::string token = std::string(kTokenPrefix) + NewToken();
  CJD_RETURN_IF_ERROR(tables_->InsertToken(TokenHash(token), name, role, now_ms));
  return token;
}

Status AccessStore::RevokeToken(const std::string& name, int64_t now_ms) {
  auto revoked = tables_->Revoke(name, now_ms);
  if (!revoked.ok()) return revoked.status();
  if (!*revoked) return Status::NotFound("no live token named " + name);
  return Status::Ok();
}

Result<std::optional<TokenRecord>> AccessStore::FindToken(std::string_view token) {
  if (token.substr(0, kTokenPrefix.size()) != kTokenPrefix) return std::optional<TokenRecord>();
  return tables_->FindLive(TokenHash(token));
}

Result<std::vector<TokenRecord>> AccessStore::ListTokens() { return tables_->List(); }

Result<AuditEntry> AccessStore::Append(AuditEntry entry) {
  if (entry.detail.empty()) entry.detail = "{}";
  return tables_->Append(std::move(entry), [this](const std::string& prev, const AuditEntry& e) {
    return AuditMac(key_, prev, e);
  });
}

Result<std::vector<AuditEntry>> AccessStore::ReadAudit(int64_t after, int limit) {
  return tables_->Read(after, limit);
}

Result<AuditVerdict> AccessStore::Verify() {
  AuditVerdict v;
  std::string prev(crypto_generichash_BYTES, '\0');
  int64_t expected = 1;
  CJD_RETURN_IF_ERROR(tables_->Walk([&](const AuditEntry& e) {
    ++v.entries;
    if (!v.first_bad) {
      if (e.seq != expected) {
        v.first_bad = expected;
        v.problem = e.seq > expected
                        ? "entry " + std::to_string(expected) + " is missing (removed), next is " +
                              std::to_string(e.seq)
                        : "entry " + std::to_string(e.seq) + " is out of order";
      } else if (e.mac.size() != crypto_generichash_BYTES ||
                 sodium_memcmp(e.mac.data(), AuditMac(key_, prev, e).data(), e.mac.size()) != 0) {
        v.first_bad = e.seq;
        v.problem = "entry " + std::to_string(e.seq) +
                    " does not match its mac: changed, inserted, or written without the audit key";
      }
    }
    prev = e.mac;
    expected = e.seq + 1;
  }));
  return v;
}

}  // namespace cjd::hub::access
