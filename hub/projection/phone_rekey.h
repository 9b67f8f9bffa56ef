// Re-keying stored phones when the phone normaliser changes (issue 16: the hand-written table of
// 60 countries replaced by libphonenumber).
//
// profiles.db indexes identifiers by a keyed hash of their normal form (identifier.h), and keeps
// the normal form itself sealed. A phone whose normal form changed ("+54111523456789" written
// "011 15 2345-6789" at an Argentine till is "+5491123456789" now) would no longer be found by
// the events that carry it. RekeyPhones, run once by the Projector at start when profiles.db's
// meta 'phone_normalizer' differs from identity::kPhoneNormalizerVersion (a database without the
// key was written by version 1), opens every stored phone, normalises it again and, in ONE
// transaction with the new version, for each phone whose normal form changed:
//   - no row holds the new key: the row takes the new key and the new (sealed) value;
//   - the same profile holds the new key already (it had both spellings): the old row goes;
//   - another profile holds the new key: NOTHING changes (a conflict). Re-keying never merges
//     profiles by itself, so two profiles an operator split or kept apart (merge_log 'split',
//     kept_apart) stay apart, and so do two that were never linked: the old row keeps its old key
//     (events now find the number's profile through the other row) and the pair is reported;
// and every other place that names the old key takes the new one (profile_events' carried and
// attached keys, merge_members, merge_log.link_key), so a later split still moves the phone.
// A stored phone that libphonenumber rejects (not valid for its country; the old normaliser
// took any 8 to 15 digits) is read once more nationally (its country's national prefix before
// its national digits, undoing the old normaliser's trunk removal: "+552111987654321" from
// "0 21 11 98765-4321" is "+5511987654321"); when that fails too the row is kept as it is (its
// profile keeps it; new events with that number no longer link, the normaliser rejects them) and
// counted. A crash before the commit leaves the database as it was (the next start runs it
// again); once committed the version says so and later starts do nothing.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "hub/identity/identifier.h"
#include "hub/projection/identity_keys.h"
#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

struct PhoneRekeyReport {
  bool ran = false;           // false: the stored version was current, nothing read
  int64_t from_version = 0;   // the stored version (1 when absent)
  int64_t phones = 0;         // phone rows read
  int64_t unchanged = 0;      // same normal form
  int64_t rekeyed = 0;        // took the new key
  int64_t folded = 0;         // the profile held the new key already: the old row removed
  int64_t conflicts = 0;      // another profile holds the new key: kept as they were
  int64_t invalid = 0;        // libphonenumber rejects the stored value: kept as it was
  int64_t unreadable = 0;     // the sealed value does not open (another identity.key): kept
  int64_t references = 0;     // rows of profile_events, merge_members, merge_log rewritten
  // The conflicting pairs (profile holding the old key, profile holding the new key), at most
  // kMaxReportedConflicts of them.
  std::vector<std::pair<int64_t, int64_t>> conflict_pairs;
};
inline constexpr size_t kMaxReportedConflicts = 100;

// Runs the re-keying when profiles.db's phone normaliser version is not the current one, and
// logs what it did (counts, conflicting profile ids; never a phone). `db` is the projection's
// writer connection, migrated; no other writer may run meanwhile.
Result<PhoneRekeyReport> RekeyPhones(sqlite::Database& db, const IdentityKeys& keys,
                                     const identity::NormalizeOptions& normalize);

}  // namespace cjd::hub
