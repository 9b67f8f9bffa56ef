#include "hub/access/access_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hub/collect/source_key.h"
#include "shared/core/private_files.h"
#include "shared/protocol/keys.h"

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

Result<std::unique_ptr<AccessStore>> AccessStore::Open(const std::string& path,
                                                       const std::string& audit_key) {
  if (audit_key.size() != kKeyBytes) return Status::Invalid("the audit key must be 32 bytes");
  auto db = sqlite::Database::Open(path, {});
  if (!db.ok()) return db.status();
  CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
  return std::unique_ptr<AccessStore>(new AccessStore(std::move(*db), audit_key));
}

Result<std::unique_ptr<AccessStore>> AccessStore::OpenWithKeyFile(
    const std::string& path, const std::string& audit_key_file) {
  std::error_code ec;
  if (!std::filesystem::exists(audit_key_file, ec) && std::filesystem::exists(path, ec)) {
    auto db = sqlite::Database::Open(path, {.read_only = true});
    if (db.ok()) {
      auto n = (*db)->QueryInt("SELECT count(*) FROM audit_log");
      if (n.ok() && *n > 0) {
        return Status::Invalid("access.audit_key_file: " + audit_key_file + " is missing but " +
                                   path + " holds audit entries: restore the key from its backup",
                               "access.audit_key_file");
      }
    }
  }
  auto key = LoadOrCreateAuditKey(audit_key_file);
  if (!key.ok()) return key.status();
  return Open(path, *key);
}

Result<std::string> AccessStore::AddToken(const std::string& name, Role role, int64_t now_ms) {
  if (!IsValidSourceName(name)) {  // the same rule as source names
    return Status::Invalid("name: 1 to 40 characters of A-Z a-z 0-9 . _ -", "name");
  }
  if (name == "admin") {
    return Status(Code::kConflict, "name: \"admin\" is the name of hub.toml's [http] token");
  }
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
  const std::string token = std::string(kTokenPrefix) + NewToken();
  auto ins = statements_.Get(
      "INSERT INTO tokens (token_hash, name, role, created_ms) VALUES (?1, ?2, ?3, ?4)");
  if (!ins.ok()) return ins.status();
  (*ins)->BindBlob(1, TokenHash(token)).Bind(2, name).Bind(3, RoleName(role)).Bind(4, now_ms);
  CJD_RETURN_IF_ERROR((*ins)->Run());
  CJD_RETURN_IF_ERROR(tx.Commit());
  return token;
}

Status AccessStore::RevokeToken(const std::string& name, int64_t now_ms) {
  auto s = statements_.Get(
      "UPDATE tokens SET revoked_ms = ?2 WHERE name = ?1 AND revoked_ms IS NULL");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, name).Bind(2, now_ms);
  CJD_RETURN_IF_ERROR((*s)->Run());
  if (db_->Changes() == 0) return Status::NotFound("no live token named " + name);
  return Status::Ok();
}

Result<std::optional<TokenRecord>> AccessStore::FindToken(std::string_view token) {
  if (token.substr(0, kTokenPrefix.size()) != kTokenPrefix) return std::optional<TokenRecord>();
  auto s = statements_.Get(
      "SELECT name, role, created_ms, revoked_ms FROM tokens "
      "WHERE token_hash = ?1 AND revoked_ms IS NULL");
  if (!s.ok()) return s.status();
  (*s)->BindBlob(1, TokenHash(token));
  auto r = (*s)->Step();
  if (!r.ok()) return r.status();
  std::optional<TokenRecord> out;
  if (*r) out = TokenFrom(**s, 0);
  (*s)->Reset();
  return out;
}

Result<std::vector<TokenRecord>> AccessStore::ListTokens() {
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

Result<AuditEntry> AccessStore::Append(AuditEntry entry) {
  if (entry.detail.empty()) entry.detail = "{}";
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
  entry.mac = AuditMac(key_, prev, entry);
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

namespace {
constexpr const char* kReadAudit =
    "SELECT seq, at_ms, actor, role, action, target, status, detail, mac FROM audit_log "
    "WHERE seq > ?1 ORDER BY seq LIMIT ?2";

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
}  // namespace

Result<std::vector<AuditEntry>> AccessStore::ReadAudit(int64_t after, int limit) {
  auto s = statements_.Get(kReadAudit);
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

Result<AuditVerdict> AccessStore::Verify() {
  // One read transaction, so appends made meanwhile do not move the walk.
  CJD_RETURN_IF_ERROR(db_->Exec("BEGIN"));
  AuditVerdict v;
  std::string prev(crypto_generichash_BYTES, '\0');
  int64_t expected = 1;
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
    const AuditEntry e = EntryFrom(*s);
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
  }
  db_->Exec("COMMIT");
  if (!failed.ok()) return failed;
  return v;
}

}  // namespace cjd::hub::access
