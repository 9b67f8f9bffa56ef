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


Result<std::optional<std::string>> Meta(sqlite::Database& db, const char* key) {
  auto stmt = db.Prepare("SELECT value FROM meta WHERE key = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, std::string_view(key));
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->ColumnText(0));
}

Status SetMeta(sqlite::Database& db, const char* key, const std::string& value) {
  auto stmt = db.Prepare(
      "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, std::string_view(key)).Bind(2, value);
  return stmt->Run();
}

// Empties keys.db's WAL: a destroyed (or re-wrapped) key's old bytes must not stay in it. Still
// busy after the tries: an error, so the caller does it again (Destroy is repeated by the
// eraser until it succeeds, and finds nothing more to delete but checkpoints again).
Status Checkpoint(sqlite::Database& db) {
  Result<bool> emptied = db.TruncateWal();
  if (!emptied.ok()) return emptied.status();
  if (!*emptied) return Status::Io("keys.db: the WAL could not be emptied (busy readers)");
  return Status::Ok();
}

Result<std::unique_ptr<sqlite::Database>> OpenKeys(const std::string& path) {
  auto db = sqlite::Database::Open(path, {});
  if (!db.ok()) return db.status();
  CJD_RETURN_IF_ERROR((*db)->Migrate(kKeysMigrations));
  return std::move(*db);
}

// The master key that keys.db's rows are wrapped under (meta.master names its fingerprint): the
// file, or MASTER.next left by a rotation that committed but did not rename (completed here).
Result<Key32> FindMaster(sqlite::Database& db, const std::string& file, bool create) {
  auto fp = Meta(db, "master");
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
    CJD_RETURN_IF_ERROR(SetMeta(db, "master", Fingerprint(*current)));
    return *current;
  }
  if (current && Fingerprint(*current) == **fp) return *current;
  if (std::optional<Key32> pending = ReadKeyFile(next); pending && Fingerprint(*pending) == **fp) {
    std::error_code ec;
    std::filesystem::rename(next, file, ec);
    if (ec) return Status::Io("cannot rename " + next + " to " + file + ": " + ec.message());
    return *pending;
  }
  return Status::Invalid(file + (current ? " is not the master key keys.db's data keys are wrapped "
                                           "under (restore it from its backup)"
                                         : " is missing: restore it from its backup (without "
                                           "it no stored personal data can be read)"),
                         kField);
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

EventVault::EventVault(Options options, std::unique_ptr<sqlite::Database> db)
    : options_(std::move(options)), db_(std::move(db)), statements_(*db_) {}

EventVault::~EventVault() { sodium_memzero(master_.data(), master_.size()); }

Result<std::shared_ptr<EventVault>> EventVault::Open(Options options) {
  if (options.keys_path.empty()) return Status::Invalid("must name a file", "privacy.keys_path");
  if (options.master_key_file.empty()) return Status::Invalid("must name a file", kField);
  auto db = OpenKeys(options.keys_path);
  if (!db.ok()) return db.status();
  std::shared_ptr<EventVault> vault(new EventVault(std::move(options), std::move(*db)));
  CJD_RETURN_IF_ERROR(vault->LoadMaster());
  return vault;
}

Status EventVault::LoadMaster() {
  auto master = FindMaster(*db_, options_.master_key_file, /*create=*/true);
  if (!master.ok()) return master.status();
  master_ = *master;
  master_fingerprint_ = Fingerprint(master_);
  return Status::Ok();
}

bool EventVault::ReloadedMaster() {
  // A rotation (cjdctl rotate-master-key) may have re-wrapped the keys since this vault loaded
  // its master: then keys.db names another one.
  auto fp = Meta(*db_, "master");
  if (!fp.ok() || !fp->has_value() || **fp == master_fingerprint_) return false;
  return LoadMaster().ok();
}

void EventVault::Remember(const identity::IdKey& hash, const DataKey& key) {
  if (by_hash_.size() >= options_.cache_entries || by_id_.size() >= options_.cache_entries) {
    by_hash_.clear();
    by_id_.clear();
  }
  by_hash_.emplace(std::string(HashBytes(hash)), key);
  by_id_.emplace(key.id, key.key);
}

namespace {
// A cached statement is reset when its reader is done, so none keeps a read snapshot open.
struct ResetOnExit {
  sqlite::Statement* statement;
  ~ResetOnExit() { statement->Reset(); }
};
}  // namespace

Result<EventVault::DataKey> EventVault::KeyForIdentifier(const identity::IdKey& hash,
                                                        bool create) {
  if (auto it = by_hash_.find(std::string(HashBytes(hash))); it != by_hash_.end()) {
    return it->second;
  }
  auto found = statements_.Get("SELECT id, wrapped FROM data_keys WHERE ident = ?1");
  if (!found.ok()) return found.status();
  sqlite::Statement* stmt = *found;
  ResetOnExit reset{stmt};
  stmt->BindBlob(1, HashBytes(hash));
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  DataKey key;
  if (*row) {
    key.id = stmt->ColumnInt(0);
    std::optional<std::string> plain = OpenBytes(master_, stmt->ColumnView(1), HashBytes(hash));
    if (!plain && ReloadedMaster()) plain = OpenBytes(master_, stmt->ColumnView(1), HashBytes(hash));
    if (!plain || plain->size() != key.key.size()) {
      return Status::Internal("data key " + std::to_string(key.id) +
                              " does not open under the master key");
    }
    std::copy(plain->begin(), plain->end(), key.key.begin());
    sodium_memzero(plain->data(), plain->size());
  } else {
    if (!create) return Status::NotFound("no data key");
    crypto_aead_xchacha20poly1305_ietf_keygen(key.key.data());
    const std::string_view k(reinterpret_cast<const char*>(key.key.data()), key.key.size());
    auto insert = statements_.Get("INSERT INTO data_keys (ident, wrapped) VALUES (?1, ?2)");
    if (!insert.ok()) return insert.status();
    (*insert)->BindBlob(1, HashBytes(hash)).BindBlob(2, SealBytes(master_, k, HashBytes(hash)));
    CJD_RETURN_IF_ERROR((*insert)->Run());
    key.id = db_->LastInsertRowid();
  }
  Remember(hash, key);
  return key;
}

Result<std::array<uint8_t, 32>> EventVault::KeyById(int64_t id) {
  if (auto it = by_id_.find(id); it != by_id_.end()) return it->second;
  auto found = statements_.Get("SELECT ident, wrapped FROM data_keys WHERE id = ?1");
  if (!found.ok()) return found.status();
  sqlite::Statement* stmt = *found;
  ResetOnExit reset{stmt};
  stmt->Bind(1, id);
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("data key " + std::to_string(id) + " was destroyed");
  identity::IdKey hash{};
  const std::string_view ident = stmt->ColumnView(0);
  if (ident.size() != hash.size()) return Status::Internal("a data key's identifier is malformed");
  std::copy(ident.begin(), ident.end(), reinterpret_cast<char*>(hash.data()));
  std::optional<std::string> plain = OpenBytes(master_, stmt->ColumnView(1), ident);
  if (!plain && ReloadedMaster()) plain = OpenBytes(master_, stmt->ColumnView(1), ident);
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
  // Keys: cached ones first; any new identifier's key is created in one transaction, under the
  // master keys.db names at that moment (a rotation may have replaced it).
  bool need_tx = false;
  for (const auto& list : idents) {
    for (const identity::IdKey& h : list) {
      if (by_hash_.count(std::string(HashBytes(h))) == 0) need_tx = true;
    }
  }
  std::optional<sqlite::Transaction> tx;
  if (need_tx) {
    tx.emplace(*db_);
    if (!tx->status().ok()) return tx->status();
    auto fp = Meta(*db_, "master");
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
  if (tx) CJD_RETURN_IF_ERROR(tx->Commit());
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
    sqlite::Transaction tx(*db_);
    if (!tx.status().ok()) return tx.status();
    auto find = db_->Prepare("SELECT id FROM data_keys WHERE ident = ?1");
    if (!find.ok()) return find.status();
    auto del = db_->Prepare("DELETE FROM data_keys WHERE id = ?1");
    if (!del.ok()) return del.status();
    for (const identity::IdKey& h : identifiers) {
      find->BindBlob(1, HashBytes(h));
      auto row = find->Step();
      if (!row.ok()) return row.status();
      const int64_t id = *row ? find->ColumnInt(0) : 0;
      find->Reset();
      by_hash_.erase(std::string(HashBytes(h)));
      if (id == 0) continue;
      by_id_.erase(id);
      del->Bind(1, id);
      CJD_RETURN_IF_ERROR(del->Run());
      ++destroyed;
    }
    CJD_RETURN_IF_ERROR(tx.Commit());
  }
  CJD_RETURN_IF_ERROR(Checkpoint(*db_));
  return destroyed;
}

Result<int64_t> EventVault::KeyCount() {
  std::lock_guard lock(mu_);
  return db_->QueryInt("SELECT count(*) FROM data_keys");
}

Result<int64_t> RotateMasterKey(const std::string& keys_path, const std::string& master_key_file) {
  std::error_code ec;
  if (!std::filesystem::exists(keys_path, ec)) {
    return Status::NotFound(keys_path + " does not exist (start the hub once first)");
  }
  auto db = OpenKeys(keys_path);
  if (!db.ok()) return db.status();
  // The current master (completing an interrupted rotation: then there is nothing more to do
  // than the rename FindMaster made).
  const std::string next = master_key_file + ".next";
  {
    auto fp = Meta(**db, "master");
    if (!fp.ok()) return fp.status();
    std::optional<Key32> pending = ReadKeyFile(next);
    if (fp->has_value() && pending && Fingerprint(*pending) == **fp) {
      auto done = FindMaster(**db, master_key_file, /*create=*/false);
      if (!done.ok()) return done.status();
      return int64_t{0};
    }
  }
  auto old_master = FindMaster(**db, master_key_file, /*create=*/false);
  if (!old_master.ok()) return old_master.status();
  Key32 fresh{};
  crypto_aead_xchacha20poly1305_ietf_keygen(fresh.data());
  CJD_RETURN_IF_ERROR(WriteSecretFile(next, KeyToBase64(fresh) + "\n"));
  int64_t n = 0;
  {
    sqlite::Transaction tx(**db);
    if (!tx.status().ok()) return tx.status();
    // Re-read under the write lock: the hub may have added keys since.
    auto fp = Meta(**db, "master");
    if (!fp.ok()) return fp.status();
    if (!fp->has_value() || **fp != Fingerprint(*old_master)) {
      return Status(Code::kConflict, "keys.db's master changed during the rotation: run it again");
    }
    auto read = (*db)->Prepare("SELECT id, ident, wrapped FROM data_keys ORDER BY id");
    if (!read.ok()) return read.status();
    auto write = (*db)->Prepare("UPDATE data_keys SET wrapped = ?2 WHERE id = ?1");
    if (!write.ok()) return write.status();
    while (true) {
      auto row = read->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const int64_t id = read->ColumnInt(0);
      const std::string ident = read->ColumnText(1);
      std::optional<std::string> key = OpenBytes(*old_master, read->ColumnView(2), ident);
      if (!key) {
        return Status::Internal("data key " + std::to_string(id) +
                                " does not open under the current master key");
      }
      write->Bind(1, id).BindBlob(2, SealBytes(fresh, *key, ident));
      sodium_memzero(key->data(), key->size());
      CJD_RETURN_IF_ERROR(write->Run());
      ++n;
    }
    CJD_RETURN_IF_ERROR(SetMeta(**db, "master", Fingerprint(fresh)));
    CJD_RETURN_IF_ERROR(tx.Commit());
  }
  sodium_memzero(fresh.data(), fresh.size());
  CJD_RETURN_IF_ERROR(Checkpoint(**db));
  std::filesystem::rename(next, master_key_file, ec);
  if (ec) {
    // The running hub may have completed the rename first (it does when it finds MASTER.next
    // named by keys.db): then the master file is the new key already.
    std::optional<Key32> now = ReadKeyFile(master_key_file);
    auto fp = Meta(**db, "master");
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
