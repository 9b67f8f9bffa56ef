#include "hub/projection/profile_offer_reader.h"

#include "hub/identity/identifier.h"

namespace cjd::hub {
namespace {

constexpr int64_t kLoyalty = static_cast<int64_t>(identity::IdType::kLoyaltyId);

}  // namespace

Result<std::unique_ptr<ProfileOfferReader>> ProfileOfferReader::Open(
    const std::string& profiles_path) {
  sqlite::OpenOptions options;
  options.read_only = true;
  options.synchronous_full = false;
  auto db = sqlite::Database::Open(profiles_path, options);
  if (!db.ok()) return db.status();
  return std::unique_ptr<ProfileOfferReader>(new ProfileOfferReader(std::move(*db)));
}

Status ProfileOfferReader::BeginSnapshot() {
  if (in_snapshot_) return Status::Ok();
  CJD_RETURN_IF_ERROR(db_->Exec("BEGIN"));
  in_snapshot_ = true;
  return Status::Ok();
}

void ProfileOfferReader::EndSnapshot() {
  statements_.ResetAll();
  if (in_snapshot_) (void)db_->Exec("COMMIT");
  in_snapshot_ = false;
}

Result<OfferTarget> ProfileOfferReader::Target(int64_t profile_id) {
  OfferTarget out;
  {
    auto s = statements_.Get(
        "SELECT merged_into IS NULL, "
        "coalesce(json_extract(attributes, '$.\"$consent\".v'), 0) "
        "FROM profiles WHERE profile_id = ?1");
    if (!s.ok()) return s.status();
    (*s)->Bind(1, profile_id);
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    out.live = *r && (*s)->ColumnInt(0) != 0;
    out.consent = *r && (*s)->ColumnInt(1) != 0;
    (*s)->Reset();
  }
  if (!out.live) return out;
  {
    auto s = statements_.Get("SELECT store_id FROM profile_stores WHERE profile_id = ?1");
    if (!s.ok()) return s.status();
    (*s)->Bind(1, profile_id);
    while (true) {
      auto r = (*s)->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      out.stores.push_back((*s)->ColumnText(0));
    }
    (*s)->Reset();
  }
  {
    auto s = statements_.Get(
        "SELECT id_key, value FROM identifiers WHERE profile_id = ?1 AND type = ?2");
    if (!s.ok()) return s.status();
    (*s)->Bind(1, profile_id).Bind(2, kLoyalty);
    while (true) {
      auto r = (*s)->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      out.loyalty.push_back(
          {std::string((*s)->ColumnView(0)), std::string((*s)->ColumnView(1))});
    }
    (*s)->Reset();
  }
  return out;
}

Status ProfileOfferReader::ForEachLoyaltyCustomer(
    const std::string& store, const std::function<Status(const StoreLoyaltyCustomer&)>& fn) {
  auto s = statements_.Get(
      "SELECT p.profile_id, i.id_key, i.value, "
      "coalesce(json_extract(p.attributes, '$.\"$consent\".v'), 0) "
      "FROM profile_stores ps "
      "JOIN profiles p ON p.profile_id = ps.profile_id "
      "JOIN identifiers i ON i.profile_id = ps.profile_id AND i.type = ?2 "
      "WHERE ps.store_id = ?1 AND p.merged_into IS NULL");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, store).Bind(2, kLoyalty);
  StoreLoyaltyCustomer c;
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    c.profile_id = (*s)->ColumnInt(0);
    c.loyalty.key.assign((*s)->ColumnView(1));
    c.loyalty.sealed.assign((*s)->ColumnView(2));
    c.consent = (*s)->ColumnInt(3) != 0;
    if (Status st = fn(c); !st.ok()) {
      (*s)->Reset();
      return st;
    }
  }
  (*s)->Reset();
  return Status::Ok();
}

Result<int64_t> ProfileOfferReader::Redemptions(int64_t profile_id, const std::string& offer_id) {
  auto s = statements_.Get(
      "SELECT count(*) FROM offer_redemptions WHERE profile_id = ?1 AND offer_id = ?2");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, profile_id).Bind(2, offer_id);
  auto r = (*s)->Step();
  if (!r.ok()) return r.status();
  const int64_t used = *r ? (*s)->ColumnInt(0) : 0;
  (*s)->Reset();
  return used;
}

Result<std::unordered_map<int64_t, int64_t>> ProfileOfferReader::RedemptionsOf(
    const std::string& offer_id) {
  auto s = statements_.Get(
      "SELECT profile_id, count(*) FROM offer_redemptions "
      "WHERE offer_id = ?1 AND profile_id IS NOT NULL GROUP BY profile_id");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, offer_id);
  std::unordered_map<int64_t, int64_t> out;
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    out[(*s)->ColumnInt(0)] = (*s)->ColumnInt(1);
  }
  (*s)->Reset();
  return out;
}

}  // namespace cjd::hub
