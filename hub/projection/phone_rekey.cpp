#include "hub/projection/phone_rekey.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <string>

#include "hub/projection/projector_internal.h"

namespace cjd::hub {
namespace {

using identity::IdKey;
using identity::IdType;
using projector_internal::JoinKeys;
using projector_internal::KeyBytes;
using projector_internal::KeyFrom;
using projector_internal::SplitKeys;

struct StoredPhone {
  IdKey key{};
  int64_t profile_id = 0;
  std::string value;  // sealed
};

// Replaces every key of `blob` (16-byte keys back to back) found in `aliases`; true if any was.
bool MapKeys(std::string_view blob, const std::map<IdKey, IdKey>& aliases, std::string* out) {
  std::vector<IdKey> keys = SplitKeys(blob);
  bool changed = false;
  std::vector<IdKey> mapped;
  mapped.reserve(keys.size());
  for (const IdKey& k : keys) {
    auto it = aliases.find(k);
    const IdKey& m = it == aliases.end() ? k : it->second;
    changed |= it != aliases.end();
    bool dup = false;  // two spellings of one phone in one event: one key
    for (const IdKey& seen : mapped) dup |= seen == m;
    if (!dup) mapped.push_back(m);
  }
  if (changed) *out = JoinKeys(mapped);
  return changed;
}

// Rewrites the other places that name an identifier key: profile_events (carried, attached),
// merge_members, merge_log.link_key. Returns the rows changed.
Result<int64_t> RewriteReferences(sqlite::Database& db, const std::map<IdKey, IdKey>& aliases) {
  int64_t changed = 0;
  {
    auto read = db.Prepare(
        "SELECT event_rowid, carried, attached FROM profile_events "
        "WHERE carried IS NOT NULL OR attached IS NOT NULL");
    if (!read.ok()) return read.status();
    auto write = db.Prepare(
        "UPDATE profile_events SET carried = ?2, attached = ?3 WHERE event_rowid = ?1");
    if (!write.ok()) return write.status();
    std::vector<std::tuple<int64_t, std::string, std::string, bool, bool>> updates;
    while (true) {
      auto r = read->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      std::string carried, attached;
      const bool c = !read->ColumnIsNull(1) && MapKeys(read->ColumnView(1), aliases, &carried);
      const bool a = !read->ColumnIsNull(2) && MapKeys(read->ColumnView(2), aliases, &attached);
      if (!c && !a) continue;
      if (!c && !read->ColumnIsNull(1)) carried = std::string(read->ColumnView(1));
      if (!a && !read->ColumnIsNull(2)) attached = std::string(read->ColumnView(2));
      updates.emplace_back(read->ColumnInt(0), std::move(carried), std::move(attached),
                           read->ColumnIsNull(1), read->ColumnIsNull(2));
    }
    read->Reset();
    for (const auto& [rowid, carried, attached, carried_null, attached_null] : updates) {
      write->Bind(1, rowid);
      if (carried_null) {
        write->BindNull(2);
      } else {
        write->BindBlob(2, carried);
      }
      if (attached_null) {
        write->BindNull(3);
      } else {
        write->BindBlob(3, attached);
      }
      CJD_RETURN_IF_ERROR(write->Run());
      ++changed;
    }
  }
  auto rewrite_column = [&](const char* select, const char* update) -> Status {
    auto read = db.Prepare(select);
    if (!read.ok()) return read.status();
    std::vector<std::pair<int64_t, IdKey>> updates;
    while (true) {
      auto r = read->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      if (read->ColumnIsNull(1) || read->ColumnView(1).size() != 16) continue;
      auto it = aliases.find(KeyFrom(read->ColumnView(1)));
      if (it != aliases.end()) updates.emplace_back(read->ColumnInt(0), it->second);
    }
    read->Reset();
    auto write = db.Prepare(update);
    if (!write.ok()) return write.status();
    for (const auto& [row, key] : updates) {
      write->Bind(1, row).BindBlob(2, KeyBytes(key));
      CJD_RETURN_IF_ERROR(write->Run());
      ++changed;
    }
    return Status::Ok();
  };
  CJD_RETURN_IF_ERROR(rewrite_column("SELECT rowid, id_key FROM merge_members WHERE id_key IS NOT NULL",
                                     "UPDATE merge_members SET id_key = ?2 WHERE rowid = ?1"));
  CJD_RETURN_IF_ERROR(rewrite_column(
      "SELECT merge_id, link_key FROM merge_log WHERE link_type = 4",  // identity::IdType::kPhone
      "UPDATE merge_log SET link_key = ?2 WHERE merge_id = ?1"));
  return changed;
}

}  // namespace

Result<PhoneRekeyReport> RekeyPhones(sqlite::Database& db, const IdentityKeys& keys,
                                     const identity::NormalizeOptions& normalize) {
  static_assert(static_cast<int>(IdType::kPhone) == 4, "merge_log query above names type 4");
  PhoneRekeyReport report;
  auto stored = db.QueryInt(
      "SELECT coalesce((SELECT value FROM meta WHERE key = 'phone_normalizer'), 1)");
  if (!stored.ok()) return stored.status();
  report.from_version = *stored;
  if (*stored == identity::kPhoneNormalizerVersion) return report;
  report.ran = true;
  const auto started = std::chrono::steady_clock::now();

  sqlite::Transaction tx(db);
  CJD_RETURN_IF_ERROR(tx.status());
  std::vector<StoredPhone> phones;
  {
    auto read = db.Prepare("SELECT id_key, profile_id, value FROM identifiers WHERE type = ?1");
    if (!read.ok()) return read.status();
    read->Bind(1, static_cast<int64_t>(IdType::kPhone));
    while (true) {
      auto r = read->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      phones.push_back({KeyFrom(read->ColumnView(0)), read->ColumnInt(1),
                        std::string(read->ColumnView(2))});
    }
  }
  report.phones = static_cast<int64_t>(phones.size());

  auto owner = db.Prepare("SELECT profile_id FROM identifiers WHERE id_key = ?1");
  if (!owner.ok()) return owner.status();
  auto rekey = db.Prepare("UPDATE identifiers SET id_key = ?2, value = ?3 WHERE id_key = ?1");
  if (!rekey.ok()) return rekey.status();
  auto drop = db.Prepare("DELETE FROM identifiers WHERE id_key = ?1");
  if (!drop.ok()) return drop.status();
  std::map<IdKey, IdKey> aliases;  // old key -> new key, for the references
  for (const StoredPhone& p : phones) {
    Result<std::string> plain = OpenValue(keys, p.value);
    if (!plain.ok()) {
      ++report.unreadable;
      continue;
    }
    Result<std::string> now = identity::RenormalizeStoredPhone(*plain, normalize);
    if (!now.ok()) {
      ++report.invalid;
      continue;
    }
    const IdKey key = identity::IdentifierKey(IdType::kPhone, *now, keys.pepper);
    if (key == p.key) {
      ++report.unchanged;
      continue;
    }
    owner->BindBlob(1, KeyBytes(key));
    auto r = owner->Step();
    const int64_t holder = r.ok() && *r ? owner->ColumnInt(0) : 0;
    owner->Reset();
    if (!r.ok()) return r.status();
    if (holder == 0) {
      rekey->BindBlob(1, KeyBytes(p.key)).BindBlob(2, KeyBytes(key)).BindBlob(3, SealValue(keys, *now));
      CJD_RETURN_IF_ERROR(rekey->Run());
      ++report.rekeyed;
    } else if (holder == p.profile_id) {
      drop->BindBlob(1, KeyBytes(p.key));
      CJD_RETURN_IF_ERROR(drop->Run());
      ++report.folded;
    } else {
      ++report.conflicts;
      if (report.conflict_pairs.size() < kMaxReportedConflicts) {
        report.conflict_pairs.emplace_back(p.profile_id, holder);
      }
      continue;
    }
    aliases[p.key] = key;
  }
  if (!aliases.empty()) {
    Result<int64_t> refs = RewriteReferences(db, aliases);
    if (!refs.ok()) return refs.status();
    report.references = *refs;
  }
  if (report.folded > 0) {
    auto bump = db.Prepare("UPDATE meta SET value = value - ?1 WHERE key = 'identifiers'");
    if (!bump.ok()) return bump.status();
    bump->Bind(1, report.folded);
    CJD_RETURN_IF_ERROR(bump->Run());
  }
  {
    auto set = db.Prepare(
        "INSERT INTO meta (key, value) VALUES ('phone_normalizer', ?1) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (!set.ok()) return set.status();
    set->Bind(1, identity::kPhoneNormalizerVersion);
    CJD_RETURN_IF_ERROR(set->Run());
  }
  CJD_RETURN_IF_ERROR(tx.Commit());

  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started).count();
  if (report.phones == 0) return report;  // a new database, or one without phones
  spdlog::info("projection: phone normaliser {} -> {}: {} stored phones, {} unchanged, {} re-keyed, "
               "{} folded into the same profile's row, {} conflicts kept apart, {} invalid kept, "
               "{} unreadable kept, {} references rewritten ({} ms)",
               report.from_version, identity::kPhoneNormalizerVersion, report.phones,
               report.unchanged, report.rekeyed, report.folded, report.conflicts, report.invalid,
               report.unreadable, report.references, ms);
  if (report.conflicts > 0) {
    std::string pairs;
    for (const auto& [a, b] : report.conflict_pairs) {
      pairs += (pairs.empty() ? "" : ", ") + std::to_string(a) + "/" + std::to_string(b);
    }
    spdlog::warn("projection: {} stored phones now read as a number another profile holds; "
                 "re-keying merges nobody, so each stays with its old key (profile holding it / "
                 "profile holding the number){}: {}",
                 report.conflicts,
                 report.conflicts > static_cast<int64_t>(report.conflict_pairs.size())
                     ? " (the first " + std::to_string(report.conflict_pairs.size()) + ")"
                     : "",
                 pairs);
  }
  if (report.invalid > 0) {
    spdlog::warn("projection: {} stored phones are not valid numbers for libphonenumber: kept as "
                 "they were (their profiles keep them; new events with them no longer link)",
                 report.invalid);
  }
  if (report.unreadable > 0) {
    spdlog::warn("projection: {} stored phones do not open with this identity.key: kept as they "
                 "were", report.unreadable);
  }
  return report;
}

}  // namespace cjd::hub
