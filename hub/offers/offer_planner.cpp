#include "hub/offers/offer_planner.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <unordered_set>

#include "hub/identity/identifier.h"
#include "hub/offers/device_sync.h"
#include "hub/offers/offer_ranking.h"
#include "hub/offers/store_items.h"
#include "hub/store/open_store.h"
#include "shared/event/event.h"
#include "shared/protocol/device_status.h"
#include "shared/protocol/offer_update.h"
#include "shared/protocol/topics.h"

namespace cjd::hub::offers {
namespace {

using nlohmann::json;

const std::vector<sqlite::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO meta VALUES ('seq', 0);
      -- Offers as marketing wrote them; deleted ones stay (their stats stay readable, and the
      -- id keeps counting versions when it is created again).
      CREATE TABLE offers (
        id          TEXT PRIMARY KEY,
        spec        TEXT NOT NULL,            -- the request body, normalised (OfferSpec JSON)
        version     INTEGER NOT NULL,
        deleted     INTEGER NOT NULL DEFAULT 0,
        created_ms  INTEGER NOT NULL,
        updated_ms  INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- What each store's devices should hold. key: the offer id (offers), the loyalty id's
      -- keyed hash (assignments; the id itself only sealed, as in profiles.db), '' (general).
      -- content: the offer's definition version, or the ranked offer ids joined by ','; '!'
      -- is a tombstone (a deleted offer, a customer back on the general list).
      CREATE TABLE store_items (
        store_id  TEXT NOT NULL,
        kind      INTEGER NOT NULL,
        key       BLOB NOT NULL,
        content   TEXT NOT NULL,
        version   INTEGER NOT NULL,
        owner     INTEGER,                    -- assignments: the profile
        sealed    BLOB,                       -- assignments: the sealed loyalty id
        PRIMARY KEY (store_id, kind, key)
      ) WITHOUT ROWID;
      CREATE INDEX store_items_by_version ON store_items (store_id, version);
      CREATE INDEX store_items_by_owner ON store_items (owner) WHERE owner IS NOT NULL;
      CREATE TABLE store_versions (store_id TEXT PRIMARY KEY, version INTEGER NOT NULL)
        WITHOUT ROWID;
    )sql"},
    // This offers.db's numbering, told apart from another instance's (the devices hold one).
    {2, "INSERT INTO meta VALUES ('numbering', random() & 9223372036854775807);"},
};

constexpr size_t kFullRecomputeAbove = 20'000;

// The numbering of this offers.db's items as the shared offers_sender records it: its random id,
// with the machine and the file, so that a copy of offers.db (a cloned data folder) is another
// numbering. A mismatch only costs a takeover.
Result<std::string> NumberingOf(sqlite::Database& db, const std::string& path) {
  auto id = db.QueryInt("SELECT value FROM meta WHERE key = 'numbering'");
  if (!id.ok()) return id.status();
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::error_code ec;
  const auto abs = std::filesystem::absolute(path, ec);
  return std::to_string(*id) + "@" + host + ":" + (ec ? path : abs.string());
}
}  // namespace

PlannerOptions PlannerOptionsFrom(const HubConfig& config) {
  PlannerOptions o;
  o.offers_path = config.offers_path;
  o.profiles_path = config.profiles_path;
  o.segments_path = config.segments_path;
  o.store_path = config.store_location();
  o.full_interval_ms = config.offers_full_interval_s * 1000;
  o.resend_after_ms = config.offers_resend_after_s * 1000;
  o.max_offers_per_customer = config.offers_per_customer;
  o.shared_url = config.store_url;  // set only for PostgreSQL, which several instances may share
  return o;
}

// What one round reads once: the offers valid now or later, by store, ranked; and for a full
// round each referenced segment's members and each limited offer's redemptions.
struct OfferPlanner::Inputs {
  int64_t now_ms = 0;
  std::map<std::string, std::vector<const OfferSpec*>> by_store;  // stores with devices only
  std::map<std::string, std::vector<std::string>> general;        // store -> ranked ids
  bool full = false;
  // Some offer depends on who the customer is (a segment, consent, a redemption limit). When
  // none does, every customer's list is the general list and a customer's change changes nothing.
  bool personal = false;
  int64_t next_start_ms = INT64_MAX;  // the earliest valid_from still to come
  std::unordered_map<std::string, std::unordered_set<int64_t>> members;  // full only
  std::unordered_map<std::string, std::unordered_map<int64_t, int64_t>> redeemed;  // full only
};

OfferPlanner::OfferPlanner(PlannerOptions options, const KeyPair& hub_keys,
                           const IdentityKeys& id_keys, const Clock* clock)
    : options_(std::move(options)), hub_keys_(hub_keys), id_keys_(id_keys), clock_(clock) {}

OfferPlanner::~OfferPlanner() { Stop(); }

Status OfferPlanner::Start() {
  {
    std::lock_guard lock(write_mu_);
    sqlite::OpenOptions open;
    open.synchronous_full = true;  // offers are configuration: never lose an accepted POST
    auto db = sqlite::Database::Open(options_.offers_path, open);
    if (!db.ok()) return db.status();
    db_ = std::move(*db);
    CJD_RETURN_IF_ERROR(db_->Migrate(kMigrations));
    auto profiles = ProfileOfferReader::Open(options_.profiles_path);
    if (!profiles.ok()) return profiles.status();
    profiles_ = std::move(*profiles);
    auto segs = segments::SegmentStore::Open(options_.segments_path, /*read_only=*/true);
    if (!segs.ok()) return segs.status();
    segments_ = std::move(*segs);
    auto devices = OpenHubStore(options_.store_path);
    if (!devices.ok()) return devices.status();
    devices_ = std::move(*devices);
    auto numbering = NumberingOf(*db_, options_.offers_path);
    if (!numbering.ok()) return numbering.status();
    numbering_ = std::move(*numbering);
    auto items = StoreItems::Open(*db_);
    if (!items.ok()) return items.status();
    items_ = std::move(*items);
    auto catalogue = options_.shared_url.empty()
                         ? OfferCatalogue::Open(*db_)
                         : OfferCatalogue::OpenShared(options_.shared_url, *db_);
    if (!catalogue.ok()) return catalogue.status();
    catalogue_ = std::move(*catalogue);
    sync_ = std::make_unique<DeviceSyncer>(
        DeviceSyncer::Options{options_.resend_after_ms, options_.chunk_items, options_.chunk_bytes},
        hub_keys_, id_keys_, *items_, *catalogue_);
    sync_->set_publisher(publisher_);
    auto listed = devices_->ListDevices();
    if (!listed.ok()) return listed.status();
    CJD_RETURN_IF_ERROR(sync_->Load(*listed, clock_->NowMillis()));
    CJD_RETURN_IF_ERROR(sync_->RenumberStoresBehindDevices());
    if (!options_.shared_url.empty()) {
      auto lease = pg::Lease::Open(options_.shared_url, "offers.device_sync");
      if (!lease.ok()) return lease.status();
      lease_ = std::move(*lease);
      std::lock_guard stats(stats_mu_);
      stats_.sync_lease = "standby";
    }
  }
  if (options_.run_thread) worker_.Start("offer-planner", [this] { Run(); });
  return Status::Ok();
}

void OfferPlanner::Stop() { worker_.Stop(); }

// ---- API -------------------------------------------------------------------------------------

Result<std::pair<OfferRow, bool>> OfferPlanner::PutOffer(const OfferSpec& spec) {
  std::unique_lock lock(write_mu_);
  if (!db_) return Status(Code::kUnavailable, "offers: not started");
  if (spec.segment != kEveryone) {
    auto found = segments_->Exists(spec.segment);
    if (!found.ok()) return found.status();
    if (!*found)
      return Status::Invalid("segment: no segment \"" + spec.segment + "\" (create it first)",
                             "segment");
  }
  auto put = catalogue_->Put(spec, clock_->NowMillis());
  if (!put.ok()) return put.status();
  if (!put->changed) return std::pair{put->row, false};
  lock.unlock();
  {
    std::lock_guard wake(worker_.mu());
    full_requested_ = true;
  }
  worker_.Notify();
  return std::pair{put->row, put->created};
}

Result<OfferRow> OfferPlanner::DeleteOffer(const std::string& id) {
  std::unique_lock lock(write_mu_);
  if (!db_) return Status(Code::kUnavailable, "offers: not started");
  auto row = catalogue_->Delete(id, clock_->NowMillis());
  if (!row.ok()) return row.status();
  lock.unlock();
  {
    std::lock_guard wake(worker_.mu());
    full_requested_ = true;
  }
  worker_.Notify();
  return row;
}

Result<std::vector<OfferRow>> OfferPlanner::ListOffers(bool include_deleted) {
  std::lock_guard lock(write_mu_);
  if (!catalogue_) return std::vector<OfferRow>{};
  // What another instance wrote a moment ago, too (the next round plans it).
  CJD_RETURN_IF_ERROR(catalogue_->Refresh().status());
  return catalogue_->List(include_deleted);
}

Result<OfferRow> OfferPlanner::GetOffer(const std::string& id) {
  std::lock_guard lock(write_mu_);
  if (catalogue_) CJD_RETURN_IF_ERROR(catalogue_->Refresh().status());
  const OfferRow* row = catalogue_ ? catalogue_->Find(id) : nullptr;
  if (row == nullptr) return Status::NotFound("no offer " + id);
  return *row;
}

void OfferPlanner::ProfilesChanged(const std::vector<int64_t>& ids) {
  if (ids.empty()) return;
  {
    std::lock_guard lock(worker_.mu());
    changed_.insert(changed_.end(), ids.begin(), ids.end());
  }
  worker_.Notify();
}

void OfferPlanner::DeviceStatus(const std::string& device_id, const std::string& status_json) {
  // The one decoder of the heartbeat format (shared/protocol/device_status.h): a status it
  // refuses (the ingestor refuses it first) tells the planner nothing.
  auto status = DecodeDeviceStatus(status_json);
  if (!status.ok()) return;
  // The agent's last will (online: false) is built when it connects: its watermark is old.
  if (!status->online || !status->offers_version) return;  // or an agent without offers
  {
    std::lock_guard lock(worker_.mu());
    reports_[device_id] = {*status->offers_version, clock_->NowMillis(),
                           status->will_ms.value_or(0)};
  }
  worker_.Notify();
}

PlannerStats OfferPlanner::Stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

std::optional<DeviceOfferSync> OfferPlanner::DeviceSync(const std::string& device_id) const {
  std::lock_guard lock(stats_mu_);
  auto it = sync_view_.find(device_id);
  if (it == sync_view_.end()) return std::nullopt;
  return it->second;
}

// ---- the thread ------------------------------------------------------------------------------

void OfferPlanner::Run() {
  while (!worker_.stopping()) {
    bool full = false;
    std::vector<int64_t> changed;
    {
      std::unique_lock lock(worker_.mu());
      worker_.WaitFor(lock, std::chrono::milliseconds(options_.tick_ms), [&] {
        return full_requested_ || !changed_.empty() || !reports_.empty();
      });
      if (worker_.stopping()) break;
      full = full_requested_;
      full_requested_ = false;
      changed.swap(changed_);
    }
    Status st = Round(full, std::move(changed));
    if (!st.ok()) {
      spdlog::error("offers: planning round failed (a full round follows in 5 s): {}",
                    st.ToString());
      std::unique_lock lock(worker_.mu());
      full_requested_ = true;  // a full round repairs whatever the failed one left undone
      // Back off: a lasting error (disk full) must not spin this thread.
      worker_.SleepFor(lock, std::chrono::seconds(5));
    }
  }
}

Status OfferPlanner::RunOnce() {
  bool full = false;
  std::vector<int64_t> changed;
  {
    std::lock_guard lock(worker_.mu());
    full = full_requested_;
    full_requested_ = false;
    changed.swap(changed_);
  }
  return Round(full, std::move(changed));
}

Status OfferPlanner::Round(bool full, std::vector<int64_t> changed) {
  std::lock_guard lock(write_mu_);
  const int64_t now = clock_->NowMillis();
  // Heartbeats: the reported watermarks, and devices added while the hub runs.
  std::map<std::string, Report> reports;
  bool reload = false;
  {
    std::lock_guard wake(worker_.mu());
    reports.swap(reports_);
  }
  for (const auto& [id, r] : reports) reload = reload || !sync_->knows(id);
  // A read that fails here (the device listing, the shared catalogue) skips the planning only:
  // what was planned before still goes out, and resends still happen, below.
  Status planned = Status::Ok();
  if (reload || now - sync_->loaded_ms() > 30'000) {
    auto listed = devices_->ListDevices();
    planned = listed.ok() ? sync_->Load(*listed, now) : listed.status();
    // A store seen for the first time needs its items computed.
    if (planned.ok()) {
      for (const auto& s : sync_->Stores()) full = full || !items_->knows(s);
    }
  }
  for (const auto& [id, r] : reports) sync_->Reported(id, r.watermark, r.at_ms, r.connection);
  // Shared offers: what other instances changed (read here at most every lease_check_ms, and
  // by every API call) is planned in full.
  if (planned.ok() && catalogue_->shared() &&
      now - catalogue_checked_ms_ >= options_.lease_check_ms) {
    catalogue_checked_ms_ = now;
    planned = catalogue_->Refresh().status();
  }
  full = full || catalogue_->TakeMoved();
  full = full || now - last_full_ms_ >= options_.full_interval_ms || now >= next_start_ms_;
  // Many changed customers (a full segment evaluation after the RFM cut points moved): one pass
  // over every store with bulk membership reads beats a lookup per customer and offer.
  full = full || changed.size() > kFullRecomputeAbove;
  const bool plan = planned.ok() && (full || !changed.empty());
  if (plan) {
    // One snapshot of profiles.db for the round: a merge the projector commits meanwhile
    // cannot land between a customer's liveness and its loyalty ids (it comes as a change).
    planned = profiles_->BeginSnapshot();
  }
  if (plan && planned.ok()) {
    auto in = LoadInputs(full);
    if (!in.ok()) {
      planned = in.status();
    } else if (full) {
      planned = RecomputeAll(*in);
    } else if (in->personal) {
      std::sort(changed.begin(), changed.end());
      changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
      planned = RecomputeProfiles(*in, changed);
    }
  }
  if (plan) profiles_->EndSnapshot();
  // What was planned before still goes out (and resends still happen) when planning fails.
  auto may_send = MaySend(clock_->NowMillis());
  Status synced = !may_send.ok() ? may_send.status()
                  : *may_send    ? sync_->Sync(clock_->NowMillis())
                                 : Status::Ok();
  {
    std::lock_guard stats(stats_mu_);
    const DeviceSyncer::Counters& c = sync_->counters();
    stats_.updates_sent = c.updates_sent;
    stats_.resends = c.resends;
    stats_.publish_failures = c.publish_failures;
    stats_.devices = c.devices;
    stats_.devices_current = c.devices_current;
    sync_view_ = sync_->View();
  }
  return planned.ok() ? synced : planned;
}

Result<bool> OfferPlanner::MaySend(int64_t now) {
  if (!lease_) return true;
  if (lease_checked_ms_ != 0 && now - lease_checked_ms_ < options_.lease_check_ms) return sending_;
  lease_checked_ms_ = now;
  auto held = lease_->Hold();
  const bool was = sending_;
  sending_ = held.ok() && *held;
  if (!held.ok() && was) {
    spdlog::warn("offers: the lease offers.device_sync cannot be checked ({}): this instance "
                 "stops sending offers until it can",
                 held.status().ToString());
  } else if (!sending_ && was) {
    spdlog::warn("offers: this instance lost the lease offers.device_sync (its database session "
                 "ended): another instance sends the devices their offers");
  }
  Status taken = Status::Ok();
  bool took_over = false;
  // Taken now rather than kept by the session that took it before (a check that failed while
  // the session lived on changes nothing): another instance may have sent meanwhile, even when
  // this one's checks said "held" before and after (its session lost and made again).
  const bool new_take = sending_ && lease_->takes() != takes_sent_under_;
  // Kept: the recorded sender is still this numbering, unless an instance that believed it held
  // the lease after its session ended (until its next check) recorded itself and sent: then its
  // numbering may be on devices, and this one takes over as from another instance.
  bool usurped = false;
  if (sending_ && !new_take) {
    auto last = catalogue_->LastSender();
    if (!last.ok()) {
      spdlog::warn("offers: the last sender cannot be read ({}); this instance goes on sending",
                   last.status().ToString());
    } else if (last->numbering != numbering_) {
      spdlog::warn("offers: another instance ({}) recorded itself as the sender while this one "
                   "held the lease offers.device_sync: taking over again",
                   last->numbering.empty() ? "none" : last->numbering);
      usurped = true;
    }
  }
  if (new_take || usurped) {
    // The devices hold what the last sender numbered. When that was this offers.db (this
    // instance restarted, or its session was lost and nobody sent meanwhile), it goes on.
    // Otherwise: reread every device's last reported watermark (the shared store keeps every
    // device's last heartbeat, whichever instance took it), renumber every store above it, and
    // record this numbering before anything is sent, so that the next taker knows.
    auto last = catalogue_->LastSender();
    auto listed = devices_->ListDevices();
    taken = !last.ok()     ? last.status()
            : !listed.ok() ? listed.status()
                           : sync_->Load(*listed, now);
    const bool ours = taken.ok() && last->numbering == numbering_;
    // Numbered above what the devices reported and above the top the last sender recorded.
    if (taken.ok() && !ours) taken = sync_->TakeOver(*listed, last->top);
    if (taken.ok() && !ours) {
      taken = catalogue_->RecordSender(numbering_, sync_->HighestVersion(), now);
    }
    if (taken.ok()) {
      takes_sent_under_ = lease_->takes();
      took_over = !ours;
      spdlog::info("offers: this instance holds the lease offers.device_sync: it sends the "
                   "devices their offers{}",
                   ours ? " (it was the last to send them: its numbering goes on)" : "");
    } else {
      sending_ = false;  // the next check takes it over again, from the start
    }
  }
  std::lock_guard stats(stats_mu_);
  stats_.sync_lease = sending_ ? "held" : "standby";
  if (took_over) stats_.lease_takeovers += 1;
  if (!taken.ok()) return taken;
  return sending_;
}

Result<OfferPlanner::Inputs> OfferPlanner::LoadInputs(bool full) {
  Inputs in;
  in.now_ms = clock_->NowMillis();
  in.full = full;
  std::vector<const OfferSpec*> live;
  for (const auto& [id, row] : catalogue_->rows()) {
    if (!row.deleted) live.push_back(&row.spec);
  }
  // Offers running now first, then those that start later (offer_ranking.h); a full round at
  // each start re-ranks them among the others.
  live = OrderLive(std::move(live), in.now_ms);
  for (const OfferSpec* o : live) {
    in.personal = in.personal || !IsForEveryone(*o) || o->max_per_customer > 0;
    if (o->valid_from_ms > in.now_ms) {
      in.next_start_ms = std::min(in.next_start_ms, o->valid_from_ms);
    }
  }
  for (const std::string& store : sync_->Stores()) {
    StoreOffers offers =
        OffersForStore(live, store, in.now_ms, options_.max_offers_per_customer);
    in.by_store[store] = std::move(offers.offers);
    in.general[store] = std::move(offers.general);
  }
  if (!full) return in;
  // A full round reads each referenced segment and each limited offer once.
  for (const OfferSpec* o : live) {
    if (o->segment != kEveryone && !in.members.contains(o->segment)) {
      auto members = segments_->AllMemberIds(o->segment);
      if (!members.ok()) return members.status();
      in.members[o->segment] = std::move(*members);
    }
    if (o->max_per_customer > 0 && !in.redeemed.contains(o->id)) {
      auto counts = profiles_->RedemptionsOf(o->id);
      if (!counts.ok()) return counts.status();
      in.redeemed[o->id] = std::move(*counts);
    }
  }
  return in;
}

// A full round's facts: each referenced segment's members and each limited offer's
// redemptions, read in bulk by LoadInputs.
class OfferPlanner::PreloadedFacts final : public CustomerFacts {
 public:
  explicit PreloadedFacts(const Inputs& in) : in_(in) {}
  Result<bool> IsMember(const std::string& segment_id, int64_t profile_id) override {
    auto m = in_.members.find(segment_id);
    return m != in_.members.end() && m->second.contains(profile_id);
  }
  Result<int64_t> Redemptions(const std::string& offer_id, int64_t profile_id) override {
    auto r = in_.redeemed.find(offer_id);
    if (r == in_.redeemed.end()) return int64_t{0};
    auto c = r->second.find(profile_id);
    return c == r->second.end() ? 0 : c->second;
  }

 private:
  const Inputs& in_;
};

// A few changed customers: their facts read one lookup at a time.
class OfferPlanner::LookupFacts final : public CustomerFacts {
 public:
  LookupFacts(segments::SegmentStore& segments, ProfileOfferReader& profiles)
      : segments_(segments), profiles_(profiles) {}
  Result<bool> IsMember(const std::string& segment_id, int64_t profile_id) override {
    return segments_.IsMember(segment_id, profile_id);
  }
  Result<int64_t> Redemptions(const std::string& offer_id, int64_t profile_id) override {
    return profiles_.Redemptions(profile_id, offer_id);
  }

 private:
  segments::SegmentStore& segments_;
  ProfileOfferReader& profiles_;
};

Result<std::vector<std::string>> OfferPlanner::RankFor(const Inputs& in, const std::string& store,
                                                      int64_t profile_id, bool consent) {
  auto it = in.by_store.find(store);
  if (it == in.by_store.end()) return std::vector<std::string>{};
  if (in.full) {
    PreloadedFacts facts(in);
    return RankForCustomer(it->second, in.now_ms, options_.max_offers_per_customer, profile_id,
                           consent, facts);
  }
  LookupFacts facts(*segments_, *profiles_);
  return RankForCustomer(it->second, in.now_ms, options_.max_offers_per_customer, profile_id,
                         consent, facts);
}

Status OfferPlanner::WriteItem(const std::string& store, int kind, std::string_view key,
                               std::string_view content, std::optional<int64_t> owner,
                               std::string_view sealed) {
  CJD_RETURN_IF_ERROR(items_->Write(store, kind, key, content, owner, sealed));
  std::lock_guard lock(stats_mu_);
  stats_.items_changed += 1;
  return Status::Ok();
}

Status OfferPlanner::RecomputeAll(const Inputs& in) {
  const int64_t started = clock_->NowMillis();
  StoreItems::Change change(*items_);
  if (!change.status().ok()) return change.status();
  int64_t items = 0;
  for (const auto& [store, offers] : in.by_store) {
    // What the store should hold: (kind, key) -> (content, owner, sealed).
    struct Want {
      std::string content;
      std::optional<int64_t> owner;
      std::string sealed;
    };
    std::map<std::pair<int, std::string>, Want> want;
    for (const OfferSpec* o : offers)
      want[{kOfferItem, o->id}] = {std::to_string(catalogue_->Find(o->id)->version), std::nullopt,
                                   ""};
    const std::vector<std::string>& general = in.general.at(store);
    want[{kGeneralItem, ""}] = {JoinOfferIds(general), std::nullopt, ""};
    const std::string& store_id = store;  // a lambda may not capture a structured binding (clang)
    CJD_RETURN_IF_ERROR(profiles_->ForEachLoyaltyCustomer(
        store_id, [&](const StoreLoyaltyCustomer& c) -> Status {
          auto ranked = RankFor(in, store_id, c.profile_id, c.consent);
          if (!ranked.ok()) return ranked.status();
          if (*ranked == general) return Status::Ok();  // the general list serves them
          want[{kAssignmentItem, c.loyalty.key}] = {JoinOfferIds(*ranked), c.profile_id,
                                                     c.loyalty.sealed};
          return Status::Ok();
        }));

    // What it holds; write the differences.
    auto have = items_->OfStore(store);
    if (!have.ok()) return have.status();
    for (const auto& [k, w] : want) {
      auto h = have->find(k);
      if (h != have->end() && h->second.content == w.content && h->second.owner == w.owner)
        continue;
      if (h != have->end() && h->second.content == w.content) {
        // Same list, another owner (a merge): no new version, the device holds it already.
        CJD_RETURN_IF_ERROR(items_->SetOwner(store, k.first, k.second, *w.owner));
        continue;
      }
      CJD_RETURN_IF_ERROR(WriteItem(store, k.first, k.second, w.content, w.owner, w.sealed));
    }
    for (const auto& [k, h] : *have) {
      if (want.contains(k) || h.content == kRemoved) continue;  // wanted, or a tombstone already
      CJD_RETURN_IF_ERROR(WriteItem(store, k.first, k.second, kRemoved, h.owner, ""));
    }
    // Tombstones every device of the store holds are no longer needed by anyone.
    if (const uint64_t held_by_all = sync_->HeldByAll(store); held_by_all > 0) {
      CJD_RETURN_IF_ERROR(items_->DropTombstones(store, held_by_all));
    }
    items += static_cast<int64_t>(want.size());
  }
  CJD_RETURN_IF_ERROR(change.Commit());
  for (const auto& [store, general] : in.general) general_[store] = JoinOfferIds(general);
  next_start_ms_ = in.next_start_ms;
  const int64_t done = clock_->NowMillis();
  last_full_ms_ = done;
  std::lock_guard lock(stats_mu_);
  stats_.full_recomputes += 1;
  stats_.last_full_ms = done;
  stats_.last_full_duration_ms = done - started;
  stats_.items = items;
  stats_.offers = catalogue_->live_count();
  stats_.stores = static_cast<int64_t>(in.by_store.size());
  return Status::Ok();
}

Status OfferPlanner::RecomputeProfiles(const Inputs& in, const std::vector<int64_t>& ids) {
  StoreItems::Change change(*items_);
  if (!change.status().ok()) return change.status();
  for (const int64_t profile : ids) {
    // What this customer should have: (store, loyalty key) -> (list, sealed id).
    std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> want;
    auto target = profiles_->Target(profile);
    if (!target.ok()) return target.status();
    const bool consent = target->consent;
    if (target->live) {
      std::vector<std::string> stores;
      for (std::string& store : target->stores) {
        if (in.by_store.contains(store)) stores.push_back(std::move(store));
      }
      const std::vector<LoyaltyKey>& loyalty = target->loyalty;
      for (const std::string& store : stores) {
        if (loyalty.empty()) break;
        auto ranked = RankFor(in, store, profile, consent);
        if (!ranked.ok()) return ranked.status();
        // The general list as the last full round wrote it (what the devices hold).
        auto g = general_.find(store);
        if (g != general_.end() && JoinOfferIds(*ranked) == g->second) continue;
        for (const LoyaltyKey& id : loyalty) want[{store, id.key}] = {JoinOfferIds(*ranked), id.sealed};
      }
    }
    // What it holds.
    auto have = items_->AssignmentsOf(profile);
    if (!have.ok()) return have.status();
    for (const auto& [k, w] : want) {
      // The same key may be held under another owner (the loyalty id moved with a merge).
      auto held = items_->Get(k.first, kAssignmentItem, k.second);
      if (!held.ok()) return held.status();
      if (*held && (*held)->content == w.first && (*held)->owner == profile) continue;
      CJD_RETURN_IF_ERROR(WriteItem(k.first, kAssignmentItem, k.second, w.first, profile,
                                    w.second));
    }
    for (const auto& [k, content] : *have) {
      if (want.contains(k) || content == kRemoved) continue;
      CJD_RETURN_IF_ERROR(WriteItem(k.first, kAssignmentItem, k.second, kRemoved, profile, ""));
    }
  }
  CJD_RETURN_IF_ERROR(change.Commit());
  std::lock_guard lock(stats_mu_);
  stats_.profile_recomputes += static_cast<int64_t>(ids.size());
  return Status::Ok();
}

}  // namespace cjd::hub::offers
