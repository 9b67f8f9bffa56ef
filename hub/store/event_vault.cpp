#include "hub/store/event_vault.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "shared/core/private_files.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "shared/event/json_scan.h"
#include "shared/protocol/keys.h"
#include "shared/storage/postgres.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {
namespace {

using Key32 = std::array<uint8_t, 32>;
constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kMac = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr char kField[] = "privacy.master_key_file";

const std::vector<sqlite::Migration> kKeysMigrations = {
    {1, R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      -- One data key per identifier: `ident` its keyed hash (hub/identity/identifier.h),
      -- `wrapped` nonce || XChaCha20-Poly1305(master, key, ad = ident).
      -- AUTOINCREMENT: a destroyed key's id is never handed out again (an event naming it must
      -- read as shredded, not fail to open under another person's key).
      CREATE TABLE data_keys (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ident BLOB NOT NULL UNIQUE,
        wrapped BLOB NOT NULL
      );
    )sql"},
};

std::string Fingerprint(const Key32& master) {
  static constexpr char kDomain[] = "cjd-master-key";
  std::array<uint8_t, 16> h{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, h.size());
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(kDomain), sizeof(kDomain));
  crypto_generichash_update(&st, master.data(), master.size());
  crypto_generichash_final(&st, h.data(), h.size());
  std::string hex(h.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), h.data(), h.size());
  hex.pop_back();
  return hex;
}

std::string SealBytes(const Key32& key, std::string_view plain, std::string_view ad) {
  std::string out(kNonce + plain.size() + kMac, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  randombytes_buf(p, kNonce);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      p + kNonce, &len, reinterpret_cast<const uint8_t*>(plain.data()), plain.size(),
      reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nullptr, p, key.data());
  return out;
}

std::optional<std::string> OpenBytes(const Key32& key, std::string_view sealed, std::string_view ad) {
  if (sealed.size() < kNonce + kMac) return std::nullopt;
  std::string out(sealed.size() - kNonce - kMac, '\0');
  const auto* p = reinterpret_cast<const uint8_t*>(sealed.data());
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<uint8_t*>(out.data()), &len, nullptr, p + kNonce,
          sealed.size() - kNonce, reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), p,
          key.data()) != 0) {
    return std::nullopt;
  }
  return out;
}

std::string Ad(const EventRef& ref) {
  std::string ad(ref.source);
  ad.push_back('\0');
  ad.append(ref.event_id);
  return ad;
}

std::string_view HashBytes(const identity::IdKey& k) {
  return {reinterpret_cast<const char*>(k.data()), k.size()};
}

// The key of one event: the data keys (in id order) chained, so every one of them is needed.
Key32 EventKey(const std::vector<const Key32*>& keys) {
  Key32 k = *keys.front();
  for (size_t i = 1; i < keys.size(); ++i) {
    Key32 next{};
    crypto_generichash(next.data(), next.size(), k.data(), k.size(), keys[i]->data(),
                       keys[i]->size());
    k = next;
  }
  return k;
}

std::optional<Key32> ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  auto key = KeyFromBase64(text, kField);
  if (!key.ok()) return std::nullopt;
  return *key;
}


}  // namespace

// The data keys' table: keys.db (SQLite, beside the config) or two tables of the hub's
// PostgreSQL database, shared by every instance (issue 17). One implementation per backend;
// EventVault's logic (caches, wrapping, the master's fingerprint) is the same over both. Used
// under the vault's mutex (or by RotateMasterKey alone).
class VaultKeyTable {
 public:
  struct Row {
    int64_t id = 0;
    std::string ident;
    std::string wrapped;
  };
  virtual ~VaultKeyTable() = default;
  // meta.master (the master's fingerprint) and meta.pepper (the identity key's); `lock` inside a
  // write transaction: a rotation (which changes it) waits for this transaction, and this one for
  // a rotation in progress.
  virtual Result<std::optional<std::string>> Meta(const char* key, bool lock) = 0;
  virtual Status SetMeta(const char* key, const std::string& value) = 0;
  // Records `value` unless `key` has one (two processes at once: the first one's stays);
  // returns the value recorded.
  virtual Result<std::string> ClaimMeta(const char* key, const std::string& value) = 0;
  // `durable` false: the commit need not wait for the WAL flush (PostgreSQL's new data keys: see
  // EventVault::Seal). SQLite ignores it.
  virtual Status Begin(bool durable = true) = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  virtual Result<std::optional<Row>> ByIdent(std::string_view ident) = 0;
  virtual Result<std::optional<Row>> ById(int64_t id) = 0;
  // Inserts the key of `ident` unless it has one (another instance may have written it since
  // ByIdent): returns the row stored, the new one or the other's.
  virtual Result<Row> Insert(std::string_view ident, std::string_view wrapped) = 0;
  // In the open transaction: deletes the keys of these identifiers, bumps meta.destroyed.
  virtual Result<int64_t> Delete(const std::vector<identity::IdKey>& idents) = 0;
  // After a deletion or a rotation, outside any transaction: the old bytes out of reach.
  virtual Status Scrub() = 0;
  virtual Result<int64_t> Count() = 0;
  // Rows with id > after, in id order, at most `limit` (a rotation reads them in pages).
  virtual Result<std::vector<Row>> Page(int64_t after, int limit) = 0;
  virtual Status Rewrap(int64_t id, std::string_view wrapped) = 0;
  // Whether deletions by other processes must be watched for (keys cached here may be gone).
  virtual bool Shared() const = 0;
  virtual std::string Name() const = 0;
};

namespace {

using KeyTable = VaultKeyTable;

class SqliteKeyTable final : public KeyTable {
 public:
  static Result<std::unique_ptr<KeyTable>> Open(const std::string& path) {
    auto db = sqlite::Database::Open(path, {});
    if (!db.ok()) return db.status();
    CJD_RETURN_IF_ERROR((*db)->Migrate(kKeysMigrations));
    return std::unique_ptr<KeyTable>(new SqliteKeyTable(std::move(*db)));
  }
  Result<std::optional<std::string>> Meta(const char* key, bool) override {
    auto stmt = statements_.Get("SELECT value FROM meta WHERE key = ?1");
    if (!stmt.ok()) return stmt.status();
    ResetOnExit reset{*stmt};
    (*stmt)->Bind(1, std::string_view(key));
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>((*stmt)->ColumnText(0));
  }
  Status SetMeta(const char* key, const std::string& value) override {
    auto stmt = statements_.Get(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2");
    if (!stmt.ok()) return stmt.status();
    (*stmt)->Bind(1, std::string_view(key)).Bind(2, value);
    return (*stmt)->Run();
  }
  Result<std::string> ClaimMeta(const char* key, const std::string& value) override {
    auto stmt = statements_.Get("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING");
    if (!stmt.ok()) return stmt.status();
    (*stmt)->Bind(1, std::string_view(key)).Bind(2, value);
    CJD_RETURN_IF_ERROR((*stmt)->Run());
    auto now = Meta(key, false);
    if (!now.ok()) return now.status();
    return now->value_or(value);
  }
  Status Begin(bool) override {
    tx_.emplace(*db_);
    if (!tx_->status().ok()) {
      Status s = tx_->status();
      tx_.reset();
      return s;
    }
    return Status::Ok();
  }
  Status Commit() override {
    if (!tx_) return Status::Internal("no transaction");
    Status s = tx_->Commit();
    tx_.reset();
    return s;
  }
  void Rollback() override { tx_.reset(); }
  Result<std::optional<Row>> ByIdent(std::string_view ident) override {
    auto stmt = statements_.Get("SELECT id, wrapped FROM data_keys WHERE ident = ?1");
    if (!stmt.ok()) return stmt.status();
    ResetOnExit reset{*stmt};
    (*stmt)->BindBlob(1, ident);
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<Row>();
    return std::optional<Row>(
        Row{(*stmt)->ColumnInt(0), std::string(ident), std::string((*stmt)->ColumnView(1))});
  }
  Result<std::optional<Row>> ById(int64_t id) override {
    auto stmt = statements_.Get("SELECT ident, wrapped FROM data_keys WHERE id = ?1");
    if (!stmt.ok()) return stmt.status();
    ResetOnExit reset{*stmt};
    (*stmt)->Bind(1, id);
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<Row>();
    return std::optional<Row>(
        Row{id, std::string((*stmt)->ColumnView(0)), std::string((*stmt)->ColumnView(1))});
  }
  Result<Row> Insert(std::string_view ident, std::string_view wrapped) override {
    // One process writes keys.db, under a write transaction: nobody else inserted since ByIdent.
    auto stmt = statements_.Get("INSERT INTO data_keys (ident, wrapped) VALUES (?1, ?2)");
    if (!stmt.ok()) return stmt.status();
    (*stmt)->BindBlob(1, ident).BindBlob(2, wrapped);
    CJD_RETURN_IF_ERROR((*stmt)->Run());
    return Row{db_->LastInsertRowid(), std::string(ident), std::string(wrapped)};
  }
  Result<int64_t> Delete(const std::vector<identity::IdKey>& idents) override {
    auto del = statements_.Get("DELETE FROM data_keys WHERE ident = ?1");
    if (!del.ok()) return del.status();
    int64_t n = 0;
    for (const identity::IdKey& h : idents) {
      (*del)->BindBlob(1, HashBytes(h));
      CJD_RETURN_IF_ERROR((*del)->Run());
      n += db_->Changes();
    }
    return n;
  }
  Status Scrub() override {
    // Empties keys.db's WAL: a destroyed (or re-wrapped) key's old bytes must not stay in it
    // (the file's own pages are zeroed by secure_delete). Still busy after the tries: an error,
    // so the caller does it again (the eraser repeats Destroy until it succeeds).
    statements_.ResetAll();
    Result<bool> emptied = db_->TruncateWal();
    if (!emptied.ok()) return emptied.status();
    if (!*emptied) return Status::Io("keys.db: the WAL could not be emptied (busy readers)");
    return Status::Ok();
  }
  Result<int64_t> Count() override { return db_->QueryInt("SELECT count(*) FROM data_keys"); }
  Result<std::vector<Row>> Page(int64_t after, int limit) override {
    auto stmt = db_->Prepare("SELECT id, ident, wrapped FROM data_keys WHERE id > ?1 ORDER BY id LIMIT ?2");
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, after).Bind(2, int64_t{limit});
    std::vector<Row> rows;
    while (true) {
      auto row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      rows.push_back(Row{stmt->ColumnInt(0), std::string(stmt->ColumnView(1)),
                         std::string(stmt->ColumnView(2))});
    }
    return rows;
  }
  Status Rewrap(int64_t id, std::string_view wrapped) override {
    auto stmt = statements_.Get("UPDATE data_keys SET wrapped = ?2 WHERE id = ?1");
    if (!stmt.ok()) return stmt.status();
    (*stmt)->Bind(1, id).BindBlob(2, wrapped);
    return (*stmt)->Run();
  }
  bool Shared() const override { return false; }
  std::string Name() const override { return "keys.db"; }

 private:
  // A cached statement is reset when its reader is done, so none keeps a read snapshot open.
  struct ResetOnExit {
    sqlite::Statement* statement;
    ~ResetOnExit() { statement->Reset(); }
  };
  explicit SqliteKeyTable(std::unique_ptr<sqlite::Database> db)
      : db_(std::move(db)), statements_(*db_) {}
  std::unique_ptr<sqlite::Database> db_;
  sqlite::StatementCache statements_;
  std::optional<sqlite::Transaction> tx_;
};

// PostgreSQL: `vault_meta` and `vault_keys`, owned by this module (migrations "vault"). Every hub
// instance on the database shares them, so an instance opens what another sealed.
const std::vector<pg::Migration> kPgKeysMigrations = {
    {1, R"sql(
      CREATE TABLE vault_meta (key text PRIMARY KEY, value text NOT NULL);
      -- As keys.db's data_keys; bigserial never hands a destroyed key's id out again.
      CREATE TABLE vault_keys (
        id bigserial PRIMARY KEY,
        ident bytea NOT NULL UNIQUE,
        wrapped bytea NOT NULL
      );
    )sql"},
};

class PgKeyTable final : public KeyTable {
 public:
  static Result<std::unique_ptr<KeyTable>> Open(const std::string& url) {
    auto db = pg::Connection::Open(url);
    if (!db.ok()) return db.status();
    CJD_RETURN_IF_ERROR((*db)->Migrate("vault", kPgKeysMigrations));
    return std::unique_ptr<KeyTable>(new PgKeyTable(std::move(*db)));
  }
  Result<std::optional<std::string>> Meta(const char* key, bool lock) override {
    auto rows = db_->Query(lock ? "SELECT value FROM vault_meta WHERE key = $1 FOR SHARE"
                                : "SELECT value FROM vault_meta WHERE key = $1",
                           {pg::Text(key)});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<std::string>();
    return std::optional<std::string>((*rows)[0].Text(0));
  }
  Status SetMeta(const char* key, const std::string& value) override {
    auto n = db_->Run(
        "INSERT INTO vault_meta (key, value) VALUES ($1, $2) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        {pg::Text(key), pg::Text(value)});
    return n.ok() ? Status::Ok() : n.status();
  }
  Result<std::string> ClaimMeta(const char* key, const std::string& value) override {
    // A row another instance is inserting at once: this statement waits for it and then inserts
    // nothing; the value read next is the one that won.
    auto n = db_->Run("INSERT INTO vault_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                      {pg::Text(key), pg::Text(value)});
    if (!n.ok()) return n.status();
    auto now = Meta(key, false);
    if (!now.ok()) return now.status();
    if (!now->has_value()) return Status(Code::kConflict, std::string("vault_meta.") + key + " vanished");
    return **now;
  }
  Status Begin(bool durable) override {
    tx_.emplace(*db_);
    if (!tx_->status().ok()) {
      Status s = tx_->status();
      tx_.reset();
      return s;
    }
    if (!durable) return db_->Exec("SET LOCAL synchronous_commit = off");
    return Status::Ok();
  }
  Status Commit() override {
    if (!tx_) return Status::Internal("no transaction");
    Status s = tx_->Commit();
    tx_.reset();
    return s;
  }
  void Rollback() override { tx_.reset(); }
  Result<std::optional<Row>> ByIdent(std::string_view ident) override {
    auto rows = db_->Query("SELECT id, wrapped FROM vault_keys WHERE ident = $1", {pg::Bytes(ident)});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<Row>();
    return std::optional<Row>(Row{(*rows)[0].Int(0), std::string(ident), (*rows)[0].Bytes(1)});
  }
  Result<std::optional<Row>> ById(int64_t id) override {
    auto rows = db_->Query("SELECT ident, wrapped FROM vault_keys WHERE id = $1", {pg::Int(id)});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<Row>();
    return std::optional<Row>(Row{id, (*rows)[0].Bytes(0), (*rows)[0].Bytes(1)});
  }
  Result<Row> Insert(std::string_view ident, std::string_view wrapped) override {
    // Another instance inserting the same identifier's key at once: this statement waits for its
    // transaction and then inserts nothing; the row it stored is read and used.
    auto rows = db_->Query(
        "INSERT INTO vault_keys (ident, wrapped) VALUES ($1, $2) ON CONFLICT (ident) DO NOTHING "
        "RETURNING id",
        {pg::Bytes(ident), pg::Bytes(wrapped)});
    if (!rows.ok()) return rows.status();
    if (!rows->empty()) return Row{(*rows)[0].Int(0), std::string(ident), std::string(wrapped)};
    auto other = ByIdent(ident);
    if (!other.ok()) return other.status();
    if (!other->has_value()) {
      return Status(Code::kConflict, "a data key was inserted and deleted at once: seal again");
    }
    return **other;
  }
  Result<int64_t> Delete(const std::vector<identity::IdKey>& idents) override {
    int64_t n = 0;
    for (const identity::IdKey& h : idents) {
      auto d = db_->Run("DELETE FROM vault_keys WHERE ident = $1", {pg::Bytes(HashBytes(h))});
      if (!d.ok()) return d.status();
      n += *d;
    }
    // Other instances drop their cached keys when they see this change (EventVault::Recheck).
    auto bump = db_->Run(
        "INSERT INTO vault_meta (key, value) VALUES ('destroyed', '1') ON CONFLICT (key) DO "
        "UPDATE SET value = (vault_meta.value::bigint + 1)::text");
    if (!bump.ok()) return bump.status();
    return n;
  }
  Status Scrub() override {
    // The dead rows' space is reclaimed for reuse; PostgreSQL does not zero it (hub/store/README.md).
    return db_->Exec("VACUUM vault_keys");
  }
  Result<int64_t> Count() override { return db_->QueryInt("SELECT count(*) FROM vault_keys"); }
  Result<std::vector<Row>> Page(int64_t after, int limit) override {
    auto rows = db_->Query(
        "SELECT id, ident, wrapped FROM vault_keys WHERE id > $1 ORDER BY id LIMIT $2",
        {pg::Int(after), pg::Int(limit)});
    if (!rows.ok()) return rows.status();
    std::vector<Row> out;
    out.reserve(rows->size());
    for (const pg::Row& r : *rows) out.push_back(Row{r.Int(0), r.Bytes(1), r.Bytes(2)});
    return out;
  }
  Status Rewrap(int64_t id, std::string_view wrapped) override {
    auto n = db_->Run("UPDATE vault_keys SET wrapped = $2 WHERE id = $1",
                      {pg::Int(id), pg::Bytes(wrapped)});
    return n.ok() ? Status::Ok() : n.status();
  }
  bool Shared() const override { return true; }
  std::string Name() const override { return "the database's vault_keys"; }

 private:
  explicit PgKeyTable(std::unique_ptr<pg::Connection> db) : db_(std::move(db)) {}
  std::unique_ptr<pg::Connection> db_;
  std::optional<pg::Transaction> tx_;
};

Result<std::unique_ptr<KeyTable>> OpenKeyTable(const std::string& location) {
  if (pg::IsPostgresUrl(location)) return PgKeyTable::Open(location);
  return SqliteKeyTable::Open(location);
}

// Rolls an open KeyTable transaction back unless committed.
struct TableTx {
  KeyTable* table;
  bool open = false;
  Status Begin(bool durable = true) {
    Status s = table->Begin(durable);
    open = s.ok();
    return s;
  }
  Status Commit() {
    open = false;
    return table->Commit();
  }
  ~TableTx() {
    if (open) table->Rollback();
  }
};

// The master key that the table's rows are wrapped under (meta.master names its fingerprint):
// the file, or MASTER.next left by a rotation that committed but did not rename (completed here).
Result<Key32> FindMaster(KeyTable& table, const std::string& file, bool create) {
  auto fp = table.Meta("master", false);
  if (!fp.ok()) return fp.status();
  const std::string next = file + ".next";
  std::optional<Key32> current = ReadKeyFile(file);
  if (!fp->has_value()) {
    if (!current) {
      std::error_code ec;
      if (std::filesystem::exists(file, ec)) {
        return Status::Invalid(file + " does not hold a base64 32-byte key", kField);
      }
      if (!create) return Status::NotFound(file + " is missing");
      Key32 k{};
      crypto_aead_xchacha20poly1305_ietf_keygen(k.data());
      CJD_RETURN_IF_ERROR(WriteSecretFile(file, KeyToBase64(k) + "\n"));
      current = k;
    }
    if (table.Shared()) {
      // Instances starting at once on a new database: the first to record its master wins; the
      // other's file is then refused below (the operator copies the first's).
      auto claimed = table.ClaimMeta("master", Fingerprint(*current));
      if (!claimed.ok()) return claimed.status();
      fp = std::optional<std::string>(*claimed);
    } else {
      CJD_RETURN_IF_ERROR(table.SetMeta("master", Fingerprint(*current)));
      return *current;
    }
  }
  if (current && Fingerprint(*current) == **fp) return *current;
  if (std::optional<Key32> pending = ReadKeyFile(next); pending && Fingerprint(*pending) == **fp) {
    std::error_code ec;
    std::filesystem::rename(next, file, ec);
    if (ec) return Status::Io("cannot rename " + next + " to " + file + ": " + ec.message());
    return *pending;
  }
  const std::string where = table.Name();
  return Status::Invalid(
      file + (current ? " is not the master key " + where +
                            "'s data keys are wrapped under (restore it from its backup" +
                            (table.Shared() ? ", or copy the first hub instance's)" : ")")
                      : " is missing: restore it from its backup" +
                            std::string(table.Shared() ? " or copy the first hub instance's" : "") +
                            " (without it no stored personal data can be read)"),
      kField);
}

// The identity key (pepper) names each data key (its identifier's keyed hash): every instance
// sharing the keys must hash with the same one, or an erasure would miss the keys it should
// destroy. The first instance records its fingerprint; another with a different key is refused.
Status CheckPepper(KeyTable& table, const identity::PepperKey& pepper) {
  static constexpr char kDomain[] = "cjd-identity-key";
  std::array<uint8_t, 16> h{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, h.size());
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(kDomain), sizeof(kDomain));
  crypto_generichash_update(&st, pepper.data(), pepper.size());
  crypto_generichash_final(&st, h.data(), h.size());
  std::string fp(h.size() * 2 + 1, '\0');
  sodium_bin2hex(fp.data(), fp.size(), h.data(), h.size());
  fp.pop_back();
  // Two instances starting at once on a new database: the first one's fingerprint stays.
  auto recorded = table.ClaimMeta("pepper", fp);
  if (!recorded.ok()) return recorded.status();
  if (*recorded != fp) {
    return Status::Invalid(
        "the identity key is not the one the database's data keys are named with: every hub "
        "instance on one database needs the same identity key file (copy the first instance's)",
        "identity.key_file");
  }
  return Status::Ok();
}

bool ParseIds(std::string_view text, std::vector<int64_t>* out) {
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    int64_t v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || p != part.data() + part.size() || v <= 0) return false;
    out->push_back(v);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return !out->empty();
}

// The identifier hashes an event's personal part names (each one's data key seals it). The part
// is SplitPersonal's: read with the scanner; a value written with escapes is decoded by a parser.
std::vector<identity::IdKey> IdentifiersOf(std::string_view personal, const EventRef& ref,
                                           const identity::PepperKey& pepper,
                                           const identity::NormalizeOptions& normalize) {
  std::vector<identity::IdKey> out;
  auto add = [&](identity::IdType type, std::string_view value) {
    std::string_view plain;
    std::string decoded;
    if (!PlainString(value, &plain)) {
      const nlohmann::json v = nlohmann::json::parse(value, nullptr, false);
      if (!v.is_string()) return;
      decoded = v.get<std::string>();
      plain = decoded;
    }
    if (plain.empty()) return;
    Result<std::string> norm = identity::Normalize(type, plain, normalize);
    const identity::IdKey k = identity::IdentifierKey(type, norm.ok() ? std::string_view(*norm) : plain, pepper);
    if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  };
  std::vector<JsonMember> parts, customer;
  if (ScanObject(personal, &parts)) {
    for (const JsonMember& p : parts) {
      if (p.key == "customer" && ScanObject(p.value, &customer)) {
        for (const JsonMember& c : customer) {
          if (std::optional<identity::IdType> t = identity::ParseIdType(c.key)) add(*t, c.value);
        }
      } else if (p.key == "card_fingerprint") {
        add(identity::IdType::kCardFingerprint, p.value);
      }
    }
  }
  if (out.empty()) {
    // Personal data naming nobody: a key of its own (the event's redaction removes it).
    out.push_back(identity::IdentifierKey(static_cast<identity::IdType>(0), Ad(ref), pepper));
  }
  return out;
}

}  // namespace

EventVault::EventVault(Options options, std::unique_ptr<KeyTable> table)
    : options_(std::move(options)), table_(std::move(table)) {}

EventVault::~EventVault() { sodium_memzero(master_.data(), master_.size()); }

std::string EventVault::Options::keys_location() const {
  return database_url.empty() ? keys_path : database_url;
}

Result<std::shared_ptr<EventVault>> EventVault::Open(Options options) {
  if (options.database_url.empty() && options.keys_path.empty()) {
    return Status::Invalid("must name a file", "privacy.keys_path");
  }
  if (options.master_key_file.empty()) return Status::Invalid("must name a file", kField);
  auto table = OpenKeyTable(options.keys_location());
  if (!table.ok()) return table.status();
  if ((*table)->Shared()) CJD_RETURN_IF_ERROR(CheckPepper(**table, options.pepper));
  std::shared_ptr<EventVault> vault(new EventVault(std::move(options), std::move(*table)));
  CJD_RETURN_IF_ERROR(vault->LoadMaster());
  if (vault->table_->Shared()) {
    auto destroyed = vault->table_->Meta("destroyed", false);
    if (!destroyed.ok()) return destroyed.status();
    vault->destroyed_seen_ = destroyed->value_or("0");
    vault->checked_at_ = std::chrono::steady_clock::now();
  }
  return vault;
}

Status EventVault::LoadMaster() {
  auto master = FindMaster(*table_, options_.master_key_file, /*create=*/true);
  if (!master.ok()) return master.status();
  master_ = *master;
  master_fingerprint_ = Fingerprint(master_);
  return Status::Ok();
}

bool EventVault::ReloadedMaster() {
  // A rotation (cjdctl rotate-master-key) may have re-wrapped the keys since this vault loaded
  // its master: then the table names another one.
  auto fp = table_->Meta("master", false);
  if (!fp.ok() || !fp->has_value() || **fp == master_fingerprint_) return false;
  return LoadMaster().ok();
}

void EventVault::Recheck() {
  // Keys shared with other instances: one of them may have destroyed some (an erasure). Their
  // cached copies here are dropped within `recheck_interval` of it, so this instance neither
  // opens what was shredded nor seals new data under a destroyed key for longer than that.
  if (!table_->Shared()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - checked_at_ < options_.recheck_interval) return;
  checked_at_ = now;
  auto destroyed = table_->Meta("destroyed", false);
  if (!destroyed.ok()) return;  // the next read fails the same way and says why
  const std::string seen = destroyed->value_or("0");
  if (seen == destroyed_seen_) return;
  destroyed_seen_ = seen;
  by_hash_.clear();
  by_id_.clear();
}

void EventVault::Remember(const identity::IdKey& hash, const DataKey& key) {
  if (by_hash_.size() >= options_.cache_entries || by_id_.size() >= options_.cache_entries) {
    by_hash_.clear();
    by_id_.clear();
  }
  by_hash_.emplace(std::string(HashBytes(hash)), key);
  by_id_.emplace(key.id, key.key);
}

Result<EventVault::DataKey> EventVault::KeyForIdentifier(const identity::IdKey& hash,
                                                        bool create) {
  if (auto it = by_hash_.find(std::string(HashBytes(hash))); it != by_hash_.end()) {
    return it->second;
  }
  auto found = table_->ByIdent(HashBytes(hash));
  if (!found.ok()) return found.status();
  std::optional<KeyTable::Row> row = std::move(*found);
  DataKey key;
  if (!row) {
    if (!create) return Status::NotFound("no data key");
    crypto_aead_xchacha20poly1305_ietf_keygen(key.key.data());
    const std::string_view k(reinterpret_cast<const char*>(key.key.data()), key.key.size());
    const std::string ours = SealBytes(master_, k, HashBytes(hash));
    auto inserted = table_->Insert(HashBytes(hash), ours);
    if (!inserted.ok()) return inserted.status();
    key.id = inserted->id;
    if (inserted->wrapped != ours) {
      // Another instance inserted this identifier's key first: use that one.
      std::optional<std::string> theirs = OpenBytes(master_, inserted->wrapped, HashBytes(hash));
      if (!theirs && ReloadedMaster()) theirs = OpenBytes(master_, inserted->wrapped, HashBytes(hash));
      if (!theirs || theirs->size() != key.key.size()) {
        return Status::Internal("data key " + std::to_string(key.id) +
                                " does not open under the master key");
      }
      std::copy(theirs->begin(), theirs->end(), key.key.begin());
      sodium_memzero(theirs->data(), theirs->size());
    }
  } else {
    key.id = row->id;
    std::optional<std::string> plain = OpenBytes(master_, row->wrapped, HashBytes(hash));
    if (!plain && ReloadedMaster()) plain = OpenBytes(master_, row->wrapped, HashBytes(hash));
    if (!plain || plain->size() != key.key.size()) {
      return Status::Internal("data key " + std::to_string(key.id) +
                              " does not open under the master key");
    }
    std::copy(plain->begin(), plain->end(), key.key.begin());
    sodium_memzero(plain->data(), plain->size());
  }
  Remember(hash, key);
  return key;
}

Result<std::array<uint8_t, 32>> EventVault::KeyById(int64_t id) {
  if (auto it = by_id_.find(id); it != by_id_.end()) return it->second;
  auto found = table_->ById(id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) {
    return Status::NotFound("data key " + std::to_string(id) + " was destroyed");
  }
  const KeyTable::Row& row = **found;
  identity::IdKey hash{};
  if (row.ident.size() != hash.size()) return Status::Internal("a data key's identifier is malformed");
  std::copy(row.ident.begin(), row.ident.end(), reinterpret_cast<char*>(hash.data()));
  std::optional<std::string> plain = OpenBytes(master_, row.wrapped, row.ident);
  if (!plain && ReloadedMaster()) plain = OpenBytes(master_, row.wrapped, row.ident);
  if (!plain) {
    // Re-wrapped under a master this process does not hold (another machine rotated it): an
    // error, so the reader stops and retries, rather than reading the event as unopenable.
    auto fp = table_->Meta("master", false);
    if (fp.ok() && fp->has_value() && **fp != master_fingerprint_) {
      return Status::Invalid(options_.master_key_file +
                                 " is not the master key the data keys are wrapped under now "
                                 "(rotated elsewhere: copy the new one here)",
                             kField);
    }
  }
  if (!plain || plain->size() != 32) {
    return Status::Crypto("data key " + std::to_string(id) + " does not open under the master key");
  }
  DataKey key;
  key.id = id;
  std::copy(plain->begin(), plain->end(), key.key.begin());
  sodium_memzero(plain->data(), plain->size());
  Remember(hash, key);
  return key.key;
}

Status EventVault::Seal(const std::vector<std::string_view>& bodies,
                        const std::vector<EventRef>& refs, std::vector<VaultedEvent>* out) {
  out->clear();
  out->resize(bodies.size());
  std::vector<std::vector<identity::IdKey>> idents(bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) {
    PersonalSplit split = SplitPersonal(bodies[i]);
    (*out)[i].body = std::move(split.rest);
    if (split.personal.empty()) continue;
    idents[i] = IdentifiersOf(split.personal, refs[i], options_.pepper, options_.normalize);
    (*out)[i].pii = std::move(split.personal);  // plain for now, sealed below
  }
  std::lock_guard lock(mu_);
  Recheck();
  // Keys: cached ones first; any new identifier's key is created in one transaction, under the
  // master the table names at that moment (a rotation may have replaced it; on PostgreSQL the
  // row naming it is locked, so a rotation waits for this transaction or this one for it).
  bool need_tx = false;
  for (const auto& list : idents) {
    for (const identity::IdKey& h : list) {
      if (by_hash_.count(std::string(HashBytes(h))) == 0) need_tx = true;
    }
  }
  TableTx tx{table_.get()};
  if (need_tx) {
    // On PostgreSQL new keys commit without waiting for the WAL flush: the events sealed under
    // them commit later, synchronously, on any connection, and flushing the WAL up to their
    // commit flushes this earlier commit too. So a key is durable whenever an event naming it
    // is; a crash before that loses only keys nothing uses. One flush per sale instead of two.
    CJD_RETURN_IF_ERROR(tx.Begin(/*durable=*/false));
    auto fp = table_->Meta("master", /*lock=*/true);
    if (!fp.ok()) return fp.status();
    if (!fp->has_value() || **fp != master_fingerprint_) CJD_RETURN_IF_ERROR(LoadMaster());
  }
  // Keys created in a transaction that then fails must not stay cached.
  struct ForgetUnlessCommitted {
    EventVault* vault;
    bool committed = false;
    ~ForgetUnlessCommitted() {
      if (committed) return;
      vault->by_hash_.clear();
      vault->by_id_.clear();
    }
  } guard{this, !need_tx};
  std::string ids;
  for (size_t i = 0; i < bodies.size(); ++i) {
    if (idents[i].empty()) continue;
    std::vector<DataKey> keys;
    for (const identity::IdKey& h : idents[i]) {
      auto k = KeyForIdentifier(h, /*create=*/true);
      if (!k.ok()) return k.status();
      keys.push_back(*k);
    }
    std::sort(keys.begin(), keys.end(), [](const DataKey& a, const DataKey& b) { return a.id < b.id; });
    std::vector<const Key32*> chain;
    ids.clear();
    for (const DataKey& k : keys) {
      chain.push_back(&k.key);
      if (!ids.empty()) ids.push_back(',');
      ids += std::to_string(k.id);
    }
    Key32 event_key = EventKey(chain);
    VaultedEvent& v = (*out)[i];
    std::string sealed = SealBytes(event_key, v.pii, Ad(refs[i]));
    sodium_memzero(v.pii.data(), v.pii.size());
    sodium_memzero(event_key.data(), event_key.size());
    v.pii = std::move(sealed);
    v.pii_keys = ids;
  }
  if (need_tx) CJD_RETURN_IF_ERROR(tx.Commit());
  guard.committed = true;
  return Status::Ok();
}

Result<std::string> EventVault::Open(const EventRef& ref, std::string_view body,
                                     std::string_view pii, std::string_view pii_keys) {
  if (pii.empty()) return std::string(body);
  // A sealed part that cannot be opened (tampered with, moved from another row, its key no longer
  // unwrapping) reads as redacted, counted and logged: one bad row must not stop the projection.
  auto unopened = [&](const char* why) -> Result<std::string> {
    const int64_t n = unopened_.fetch_add(1) + 1;
    if (n <= 10) {
      spdlog::warn("event vault: the personal part of event {} from {} does not open ({}); read "
                   "as redacted ({} so far)", ref.event_id, ref.source, why, n);
    }
    return MarkRedacted(body);
  };
  std::vector<int64_t> ids;
  if (!ParseIds(pii_keys, &ids)) return unopened("malformed key ids");
  std::sort(ids.begin(), ids.end());
  std::vector<Key32> keys;
  {
    std::lock_guard lock(mu_);
    Recheck();
    for (int64_t id : ids) {
      auto k = KeyById(id);
      if (!k.ok()) {
        if (k.status().code() == Code::kNotFound) return MarkRedacted(body);  // shredded
        if (k.status().code() == Code::kCrypto) return unopened("a data key does not unwrap");
        return k.status();
      }
      keys.push_back(*k);
    }
  }
  std::vector<const Key32*> chain;
  for (const Key32& k : keys) chain.push_back(&k);
  Key32 event_key = EventKey(chain);
  std::optional<std::string> personal = OpenBytes(event_key, pii, Ad(ref));
  sodium_memzero(event_key.data(), event_key.size());
  for (Key32& k : keys) sodium_memzero(k.data(), k.size());
  if (!personal) return unopened("tampered with, or moved from another event");
  Result<std::string> joined = JoinPersonal(body, *personal);
  sodium_memzero(personal->data(), personal->size());
  if (!joined.ok()) return unopened("the opened part does not join the event");
  return joined;
}

Result<int64_t> EventVault::Destroy(const std::vector<identity::IdKey>& identifiers) {
  std::lock_guard lock(mu_);
  int64_t destroyed = 0;
  {
    TableTx tx{table_.get()};
    CJD_RETURN_IF_ERROR(tx.Begin());
    for (const identity::IdKey& h : identifiers) {
      auto it = by_hash_.find(std::string(HashBytes(h)));
      if (it != by_hash_.end()) {
        by_id_.erase(it->second.id);
        by_hash_.erase(it);
      }
    }
    auto n = table_->Delete(identifiers);
    if (!n.ok()) return n.status();
    destroyed = *n;
    CJD_RETURN_IF_ERROR(tx.Commit());
  }
  if (table_->Shared()) {
    // This instance's own caches are right already; the counter moved by its own deletion.
    auto seen = table_->Meta("destroyed", false);
    if (seen.ok()) destroyed_seen_ = seen->value_or("0");
  }
  CJD_RETURN_IF_ERROR(table_->Scrub());
  return destroyed;
}

Result<int64_t> EventVault::KeyCount() {
  std::lock_guard lock(mu_);
  return table_->Count();
}

Result<int64_t> RotateMasterKey(const std::string& keys_location,
                                const std::string& master_key_file) {
  std::error_code ec;
  if (!pg::IsPostgresUrl(keys_location) && !std::filesystem::exists(keys_location, ec)) {
    return Status::NotFound(keys_location + " does not exist (start the hub once first)");
  }
  auto opened = OpenKeyTable(keys_location);
  if (!opened.ok()) return opened.status();
  KeyTable& table = **opened;
  // The current master (completing an interrupted rotation: then there is nothing more to do
  // than the rename FindMaster made).
  const std::string next = master_key_file + ".next";
  {
    auto fp = table.Meta("master", false);
    if (!fp.ok()) return fp.status();
    std::optional<Key32> pending = ReadKeyFile(next);
    if (fp->has_value() && pending && Fingerprint(*pending) == **fp) {
      auto done = FindMaster(table, master_key_file, /*create=*/false);
      if (!done.ok()) return done.status();
      return int64_t{0};
    }
  }
  auto old_master = FindMaster(table, master_key_file, /*create=*/false);
  if (!old_master.ok()) return old_master.status();
  Key32 fresh{};
  crypto_aead_xchacha20poly1305_ietf_keygen(fresh.data());
  CJD_RETURN_IF_ERROR(WriteSecretFile(next, KeyToBase64(fresh) + "\n"));
  int64_t n = 0;
  {
    TableTx tx{&table};
    CJD_RETURN_IF_ERROR(tx.Begin());
    // Re-read under the write lock (SQLite) or with the row locked (PostgreSQL: sealing
    // transactions hold it shared): the hub may have added keys since.
    auto fp = table.Meta("master", /*lock=*/table.Shared());
    if (!fp.ok()) return fp.status();
    if (!fp->has_value() || **fp != Fingerprint(*old_master)) {
      return Status(Code::kConflict,
                    table.Name() + "'s master changed during the rotation: run it again");
    }
    if (table.Shared()) {
      // FOR SHARE does not block other sharers; the update below takes the row exclusively.
      CJD_RETURN_IF_ERROR(table.SetMeta("master", **fp));
    }
    int64_t after = 0;
    while (true) {
      auto page = table.Page(after, 2000);
      if (!page.ok()) return page.status();
      if (page->empty()) break;
      for (const KeyTable::Row& row : *page) {
        std::optional<std::string> key = OpenBytes(*old_master, row.wrapped, row.ident);
        if (!key) {
          return Status::Internal("data key " + std::to_string(row.id) +
                                  " does not open under the current master key");
        }
        CJD_RETURN_IF_ERROR(table.Rewrap(row.id, SealBytes(fresh, *key, row.ident)));
        sodium_memzero(key->data(), key->size());
        ++n;
        after = row.id;
      }
    }
    CJD_RETURN_IF_ERROR(table.SetMeta("master", Fingerprint(fresh)));
    CJD_RETURN_IF_ERROR(tx.Commit());
  }
  sodium_memzero(fresh.data(), fresh.size());
  CJD_RETURN_IF_ERROR(table.Scrub());
  std::filesystem::rename(next, master_key_file, ec);
  if (ec) {
    // The running hub may have completed the rename first (it does when it finds MASTER.next
    // named by the table): then the master file is the new key already.
    std::optional<Key32> now = ReadKeyFile(master_key_file);
    auto fp = table.Meta("master", false);
    if (!now || !fp.ok() || !fp->has_value() || Fingerprint(*now) != **fp) {
      return Status::Io("cannot rename " + next + ": " + ec.message());
    }
  }
  CJD_RETURN_IF_ERROR(SyncDirectoryOf(master_key_file));
  return n;
}

Status SealEvents(EventVault* vault, const std::vector<std::string_view>& bodies,
                  const std::vector<EventRef>& refs, std::vector<VaultedEvent>* out) {
  if (vault != nullptr) return vault->Seal(bodies, refs, out);
  out->clear();
  for (std::string_view b : bodies) out->push_back(VaultedEvent{std::string(b), {}, {}});
  return Status::Ok();
}

}  // namespace cjd::hub
