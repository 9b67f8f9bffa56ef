// The access module's storage (access.db beside hub.db, `[access] path`): the hub's named API
// tokens with their roles, and the append-only, hash-chained audit log. No other module reads
// these tables; they call this class.
//
// Tokens: `cjdt_` + 32 random bytes in unpadded base64url. Only the BLAKE2b-256 hash of a token is
// stored, so a copy of access.db lets no one call the hub. A revoked token stays listed (with
// revoked_at) and stops working at once: the hub looks tokens up per request.
//
// Audit log: each entry carries mac = BLAKE2b-256 keyed with the audit key (a 32-byte secret in
// `[access] audit_key_file`, 0600, outside the database) over the previous entry's mac and every
// field of this one. Entries are numbered 1, 2, 3, ... without gaps. Verify() walks the chain and
// names the first entry that was changed, inserted or removed; without the key no one can write a
// chain that verifies. What it cannot see: the newest entries cut off the end together (nothing
// after them names them; see hub/access/README.md).
//
// Several processes may write at once (the hub, cjdctl add-token): appends take SQLite's write
// lock (BEGIN IMMEDIATE) before reading the previous mac. Not thread-safe: one per thread, or a
// mutex around it.
//
// Where: a SQLite file (`[access] path`), or, for hub instances sharing one PostgreSQL (`[store]
// url`), that database's access_tokens / access_audit tables (one chain for every instance and
// cjdctl; appends serialised by a transaction-scoped advisory lock). Every instance then knows
// every token and a revocation stops it on all of them at once. The audit key stays a file, the
// same on every instance: the database records its fingerprint, and a store opened with another
// key is refused naming `access.audit_key_file`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/access/roles.h"
#include "shared/core/status.h"

namespace cjd::hub::access {

inline constexpr std::string_view kTokenPrefix = "cjdt_";

struct TokenRecord {
  std::string name;
  Role role = Role::kAnalyst;
  int64_t created_ms = 0;
  std::optional<int64_t> revoked_ms;
};

struct AuditEntry {
  int64_t seq = 0;  // assigned by Append
  int64_t at_ms = 0;
  std::string actor;   // the token's name ("admin" for hub.toml's token), or "cjdctl"
  std::string role;    // the actor's role
  std::string action;  // "POST /v1/segments", "add-token", ...
  std::string target;  // what it acted on: a request path (never its query), a token name
  int status = 0;      // the HTTP status answered (0 for local commands)
  std::string detail;  // a JSON object, "{}" when there is nothing to add; never personal data
  std::string mac;     // 32 raw bytes, assigned by Append
};

struct AuditVerdict {
  int64_t entries = 0;
  std::optional<int64_t> first_bad;  // the first entry whose chain does not verify
  std::string problem;               // what is wrong with it
};

// Loads the 32-byte audit key (base64 text), creating it 0600 when the file does not exist (two
// processes creating it at once end with the same key: the second one reads the first's).
Result<std::string> LoadOrCreateAuditKey(const std::string& path);

class AccessStore {
 public:
  // Opens (creating and migrating) the tables at `location`: a SQLite file's path, or a
  // postgresql:// URL. `audit_key`: 32 raw bytes.
  static Result<std::unique_ptr<AccessStore>> Open(const std::string& location,
                                                   const std::string& audit_key);
  // Opens with the key of `audit_key_file`, creating the file when missing; refuses a missing
  // key file when the log already holds entries (a new key would fail every one of them).
  static Result<std::unique_ptr<AccessStore>> OpenWithKeyFile(const std::string& location,
                                                              const std::string& audit_key_file);
  ~AccessStore();

  // A new token for `name` (1-40 of [A-Za-z0-9._-]; 400 when malformed, 409 when a token of that
  // name is live). Returns the token text, shown once.
  Result<std::string> AddToken(const std::string& name, Role role, int64_t now_ms);
  // Revokes the live token `name`; NotFound when there is none.
  Status RevokeToken(const std::string& name, int64_t now_ms);
  // The live token whose text is `token`; nullopt for an unknown or revoked one.
  Result<std::optional<TokenRecord>> FindToken(std::string_view token);
  Result<std::vector<TokenRecord>> ListTokens();

  // Appends `entry` (seq and mac filled in) in its own transaction; returns it as stored.
  Result<AuditEntry> Append(AuditEntry entry);
  // Entries with seq > after, oldest first, at most `limit`.
  Result<std::vector<AuditEntry>> ReadAudit(int64_t after, int limit);
  // Walks the whole chain.
  Result<AuditVerdict> Verify();

 private:
  class Tables;  // the storage: SQLite or PostgreSQL (access_store.cpp)
  class SqliteTables;
  class PgTables;
  AccessStore(std::unique_ptr<Tables> tables, std::string key);

  std::unique_ptr<Tables> tables_;
  std::string key_;
};

// The mac of `e` chained after `prev_mac` (32 raw bytes; 32 zero bytes before the first entry).
std::string AuditMac(const std::string& key, const std::string& prev_mac, const AuditEntry& e);

}  // namespace cjd::hub::access
