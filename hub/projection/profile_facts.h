// ProfileFactsReader: the narrow read of one profile that segment rules need — the profile row,
// its main-currency order figures, favourite store and category, RFM score, consent and
// attributes — straight from profiles.db's tables, without building the GET /v1/profiles
// document (no identifiers unsealed, no events, no JSON of the traits). The values are exactly
// the ones that document shows (tests/hub/segments compare them); what is not asked for
// (ProfileFactsNeeds) is not read.
//
// One instance per connection, one thread at a time; the owner of profiles.db's schema is the
// projector (this is its read function for other modules).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/projection/identity_keys.h"
#include "hub/projection/money.h"
#include "hub/projection/rfm.h"
#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

// Which groups of facts to read (the profile row itself is always read).
struct ProfileFactsNeeds {
  bool orders = true;              // currency, orders, revenue, last order, RFM
  bool favourite_store = true;
  bool favourite_category = true;
  bool attributes = true;          // attributes and consent
};

struct ProfileFactsRow {
  int64_t profile_id = 0;
  int64_t first_seen_ms = 0, last_seen_ms = 0;  // meaningless when events == 0
  int64_t events = 0, loyalty_scans = 0;
  std::vector<std::string> channels;
  // Orders in the profile's main currency (the one with the most sale orders).
  std::string currency;  // empty: no order
  int64_t orders = 0;
  Money gross, returns;
  std::optional<int64_t> last_order_ms;
  std::optional<std::string> favourite_store, favourite_category;
  std::optional<RfmScore> rfm;
  nlohmann::json attributes = nlohmann::json::object();  // as the document's "attributes"
  nlohmann::json consent;  // the document's traits.consent.marketing: true, false or null
};

// The public attributes of a stored attributes text (projector's {"name": {"v": value, "t":
// ms}} form): `*attributes` gets every name not starting with '$' whose value is not null;
// `*consent` the marketing consent ("$consent"), null when none; `*consent_ms` its time.
// The stored text is opened with `keys` (attributes are sealed at rest: SealAttributes).
void PublicAttributes(const IdentityKeys& keys, std::string_view stored,
                      nlohmann::json* attributes, nlohmann::json* consent,
                      std::optional<int64_t>* consent_ms);

class ProfileFactsReader {
 public:
  // Opens its own read-only connection to profiles.db. `keys` (which open the sealed
  // attributes) and `rfm` (may be null: no scores) must outlive the reader.
  static Result<std::unique_ptr<ProfileFactsReader>> Open(const std::string& profiles_path,
                                                          const IdentityKeys& keys,
                                                          const RfmModel* rfm);

  // Reads are grouped in snapshots: everything between Begin() and End() sees one state of
  // profiles.db. Read() outside a snapshot works too (one implicit snapshot per statement).
  Status Begin();
  void End();
  // nullopt when the profile does not exist or was merged into another (it is in no segment).
  Result<std::optional<ProfileFactsRow>> Read(int64_t profile_id, const ProfileFactsNeeds& needs);
  // Live profiles holding stored attributes, ascending ids above `after`, at most `limit`
  // (the matcher's initial scan, hub/matching/profile_matcher.h).
  Result<std::vector<int64_t>> LiveWithAttributes(int64_t after, int limit);
  // The live profile `profile_id` is now: itself, or the survivor it was merged into; nullopt
  // when it does not exist (never did, or erased).
  Result<std::optional<int64_t>> LiveId(int64_t profile_id);

 private:
  struct Statements;
  ProfileFactsReader(std::unique_ptr<sqlite::Database> db, std::unique_ptr<Statements> st,
                     const IdentityKeys& keys, const RfmModel* rfm);

 public:
  ~ProfileFactsReader();
  ProfileFactsReader(const ProfileFactsReader&) = delete;
  ProfileFactsReader& operator=(const ProfileFactsReader&) = delete;

 private:
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<Statements> st_;
  const IdentityKeys& keys_;
  const RfmModel* rfm_;
  bool in_snapshot_ = false;
};

}  // namespace cjd::hub
