#include "hub/projection/projector_internal.h"

namespace cjd::hub::projector_internal {

std::set<std::string> RedeemedOffers(const Order& o) {
  std::set<std::string> offers;
  for (const Item& item : o.items) {
    if (!item.offer_id.empty() && item.quantity > 0) offers.insert(item.offer_id);
  }
  if (!o.offer_id.empty()) offers.insert(o.offer_id);
  return offers;
}

Result<ProfileRow> ReadProfile(sqlite::Statement& get, int64_t profile_id,
                               const IdentityKeys& keys, bool attributes) {
  get.Bind(1, profile_id);
  auto row = get.Step();
  if (!row.ok() || !*row) {
    get.Reset();
    if (!row.ok()) return row.status();
    return Status::NotFound("profile " + std::to_string(profile_id));
  }
  ProfileRow p;
  p.first_seen_ms = get.ColumnInt(0);
  p.last_seen_ms = get.ColumnInt(1);
  p.events = get.ColumnInt(2);
  p.loyalty_scans = get.ColumnInt(3);
  const std::string channels = get.ColumnText(4);
  size_t start = 0;
  while (start < channels.size()) {
    size_t comma = channels.find(',', start);
    if (comma == std::string::npos) comma = channels.size();
    p.channels.insert(channels.substr(start, comma - start));
    start = comma + 1;
  }
  if (attributes) p.attributes = OpenAttributes(keys, get.ColumnView(5));
  get.Reset();
  return p;
}


namespace {
// Binds ?1-?6: the profile's figures (both profile UPDATEs start with them).
void BindFigures(sqlite::Statement& update, int64_t profile_id, const ProfileRow& p) {
  const bool empty = p.events == 0;
  update.Bind(1, profile_id)
      .Bind(2, empty ? 0 : p.first_seen_ms)
      .Bind(3, empty ? 0 : p.last_seen_ms)
      .Bind(4, p.events)
      .Bind(5, p.loyalty_scans)
      .Bind(6, p.ChannelsText());
}
}  // namespace

Status WriteProfile(sqlite::Statement& update, int64_t profile_id, const ProfileRow& p,
                    const IdentityKeys& keys) {
  BindFigures(update, profile_id, p);
  update.Bind(7, SealAttributes(keys, p.attributes));
  return update.Run();
}

Status WriteProfileFigures(sqlite::Statement& update_figures, int64_t profile_id,
                           const ProfileRow& p) {
  BindFigures(update_figures, profile_id, p);
  return update_figures.Run();
}

}  // namespace cjd::hub::projector_internal
