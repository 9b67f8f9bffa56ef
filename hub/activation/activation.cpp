#include "hub/activation/activation.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "hub/privacy/erasure_store.h"
#include "hub/projection/profile_reader.h"
#include "hub/segments/segment_store.h"
#include "shared/event/event.h"
#include "shared/http/client.h"

namespace cjd::hub::activation {
namespace {

using json = nlohmann::json;

constexpr int64_t kFeedBatch = 1000;     // feed entries per transaction
constexpr int64_t kBackfillPage = 500;   // members enqueued per transaction
constexpr int kSendsPerDestination = 200;  // per round, so one busy destination cannot starve others
constexpr const char* kSegmentsCursor = "segments";
constexpr const char* kMergesCursor = "merges";
constexpr const char* kErasuresCursor = "erasures";
constexpr const char* kRedemptionsCursor = "redemptions";
constexpr int64_t kAlertsEveryMs = 10'000;

}  // namespace

std::string Signature(std::string_view secret, std::string_view body) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&st, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
  return std::string("sha256=") + hex;
}

Activation::Activation(const HubConfig& config, const IdentityKeys& keys, const Clock* clock)
    : config_(config), keys_(keys), clock_(clock) {}

Activation::~Activation() { Stop(); }

Status Activation::Start(bool thread) {
  {
    std::lock_guard lock(mu_);
    auto store = DestinationStore::Open(config_.activation_path);
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    auto seg = segments::SegmentStore::Open(config_.segments_path, /*read_only=*/true);
    if (!seg.ok()) return seg.status();
    segments_ = std::move(*seg);
    auto prof = ProfileReader::Open(config_.profiles_path, config_.store_location(), keys_, nullptr);
    if (!prof.ok()) return prof.status();
    profiles_ = std::move(*prof);
    auto era = privacy::ErasureStore::Open(config_.privacy_location());
    if (!era.ok()) return era.status();
    erasures_ = std::move(*era);
    // A new activation.db starts each feed at its end: what happened before any destination
    // existed is nobody's to deliver.
    auto seg_cursor = store_->Cursor(kSegmentsCursor);
    if (!seg_cursor.ok()) return seg_cursor.status();
    auto merge_cursor = store_->Cursor(kMergesCursor);
    if (!merge_cursor.ok()) return merge_cursor.status();
    auto list = store_->List();
    if (!list.ok()) return list.status();
    auto redemption_cursor = store_->Cursor(kRedemptionsCursor);
    if (!redemption_cursor.ok()) return redemption_cursor.status();
    if (list->empty() && *redemption_cursor == 0) {
      auto last = profiles_->LastRedemptionSeq();
      if (!last.ok()) return last.status();
      CJD_RETURN_IF_ERROR(store_->SetCursor(kRedemptionsCursor, *last));
    }
    if (list->empty() && *seg_cursor == 0 && *merge_cursor == 0) {
      auto last_seq = segments_->LastChangeSeq();
      if (!last_seq.ok()) return last_seq.status();
      auto last_merge = profiles_->LastMergeId();
      if (!last_merge.ok()) return last_merge.status();
      CJD_RETURN_IF_ERROR(store_->SetCursor(kSegmentsCursor, *last_seq));
      CJD_RETURN_IF_ERROR(store_->SetCursor(kMergesCursor, *last_merge));
      // Erasures done before: not reported (the cursor passes every request made so far).
      int64_t last_erasure = 0;
      while (true) {
        auto page = erasures_->List(last_erasure, 1000);
        if (!page.ok()) return page.status();
        if (page->empty()) break;
        last_erasure = page->back().seq;
      }
      CJD_RETURN_IF_ERROR(store_->SetCursor(kErasuresCursor, last_erasure));
    }
  }
  if (thread) worker_.Start("activation", [this] { Run(); });
  return Status::Ok();
}

void Activation::Stop() { worker_.Stop(); }

void Activation::Run() {
  int64_t last_warning_ms = 0;
  while (!worker_.stopping()) {
    Status st = RunOnce();
    const int64_t now = clock_->NowMillis();
    if (!st.ok() && now - last_warning_ms >= 60'000) {  // at most one a minute
      spdlog::warn("activation: {}", st.ToString());
      last_warning_ms = now;
    }
    std::unique_lock lock(worker_.mu());
    worker_.WaitFor(lock, std::chrono::milliseconds(500), [this] { return wake_; });
    wake_ = false;
  }
}

void Activation::Wake() {
  {
    std::lock_guard lock(worker_.mu());
    wake_ = true;
  }
  worker_.Notify();
}

Status Activation::RunOnce() {
  // Each part on its own: a feed that fails (a busy or damaged file) must not stop the others
  // or the deliveries. The first error is returned (logged by Run) and counted.
  Status first = Status::Ok();
  for (Status st : {Feeds(), Backfills(), Deliver()}) {
    if (!st.ok()) {
      std::lock_guard lock(mu_);
      ++round_errors_;
      if (first.ok()) first = st;
    }
  }
  return first;
}

Status Activation::EnqueueFor(const std::vector<Destination>& dests, const std::string& kind,
                              const std::string& segment, int64_t profile_id,
                              int64_t occurred_ms, const json& data, int64_t change_seq,
                              int64_t merge_id, int64_t redemption_seq) {
  const int64_t now = clock_->NowMillis();
  for (const Destination& d : dests) {
    if (!d.Wants(kind)) continue;
    if (change_seq > 0 && change_seq <= d.from_change_seq) continue;  // before it existed
    if (merge_id > 0 && merge_id <= d.from_merge_id) continue;
    if (redemption_seq > 0 && redemption_seq <= d.from_redemption_seq) continue;
    if (!d.segment.empty() && !segment.empty() && d.segment != segment) continue;
    Delivery out;
    out.id = "dlv_" + NewEventId(now);
    out.destination = d.id;
    out.type = kind;
    out.occurred_at_ms = occurred_ms;
    out.data = data.dump();
    out.profile_id = profile_id;
    out.next_attempt_ms = now;
    out.created_ms = now;
    CJD_RETURN_IF_ERROR(store_->Enqueue(out));
  }
  return Status::Ok();
}

Status Activation::Feeds() {
  std::lock_guard lock(mu_);
  auto dests = store_->List();
  if (!dests.ok()) return dests.status();
  // Segment joins and leaves.
  while (true) {
    auto cursor = store_->Cursor(kSegmentsCursor);
    if (!cursor.ok()) return cursor.status();
    auto changes = segments_->ChangesAfter(*cursor, kFeedBatch);
    if (!changes.ok()) return changes.status();
    if (changes->empty()) {
      // segments.db rebuilt (deleted): its log restarts below our cursor.
      auto last = segments_->LastChangeSeq();
      if (!last.ok()) return last.status();
      if (*last < *cursor) {
        CJD_RETURN_IF_ERROR(store_->SetCursor(kSegmentsCursor, *last));
        CJD_RETURN_IF_ERROR(store_->ClampChangeSeq(*last));
      }
      break;
    }
    sqlite::Transaction tx(store_->db());
    CJD_RETURN_IF_ERROR(tx.status());
    for (const segments::MembershipChange& c : *changes) {
      const json data = {{"segment", c.segment_id}, {"profile_id", c.profile_id}};
      CJD_RETURN_IF_ERROR(EnqueueFor(*dests, c.entered ? "segment.entered" : "segment.left",
                                     c.segment_id, c.profile_id, c.at_ms, data, c.seq));
    }
    CJD_RETURN_IF_ERROR(store_->SetCursor(kSegmentsCursor, changes->back().seq));
    CJD_RETURN_IF_ERROR(tx.Commit());
    if (static_cast<int64_t>(changes->size()) < kFeedBatch) break;
  }
  // Merges.
  while (true) {
    auto cursor = store_->Cursor(kMergesCursor);
    if (!cursor.ok()) return cursor.status();
    auto merges = profiles_->MergesAfter(*cursor, kFeedBatch);
    if (!merges.ok()) return merges.status();
    if (merges->empty()) break;
    sqlite::Transaction tx(store_->db());
    CJD_RETURN_IF_ERROR(tx.status());
    for (const ProfileReader::MergeRecord& m : *merges) {
      json data = {{"merge_id", m.merge_id},
                   {"profile_id", m.survivor},
                   {"absorbed_profile_id", m.absorbed},
                   {"reason", m.reason}};
      data["probability"] = m.probability ? json(*m.probability) : json(nullptr);
      CJD_RETURN_IF_ERROR(
          EnqueueFor(*dests, "profile.merged", "", m.survivor, m.at_ms, data, 0, m.merge_id));
    }
    CJD_RETURN_IF_ERROR(store_->SetCursor(kMergesCursor, merges->back().merge_id));
    CJD_RETURN_IF_ERROR(tx.Commit());
    if (static_cast<int64_t>(merges->size()) < kFeedBatch) break;
  }
  // Offer redemptions.
  while (true) {
    auto cursor = store_->Cursor(kRedemptionsCursor);
    if (!cursor.ok()) return cursor.status();
    auto redemptions = profiles_->RedemptionsAfter(*cursor, kFeedBatch);
    if (!redemptions.ok()) return redemptions.status();
    if (redemptions->empty()) break;
    sqlite::Transaction tx(store_->db());
    CJD_RETURN_IF_ERROR(tx.status());
    for (const ProfileReader::RedemptionRecord& r : *redemptions) {
      const json data = {{"offer_id", r.offer_id},
                         {"order_id", r.order_id},
                         {"profile_id", r.profile_id == 0 ? json(nullptr) : json(r.profile_id)}};
      CJD_RETURN_IF_ERROR(EnqueueFor(*dests, "offer.redeemed", "", r.profile_id, r.at_ms, data,
                                     0, 0, r.seq));
    }
    CJD_RETURN_IF_ERROR(store_->SetCursor(kRedemptionsCursor, redemptions->back().seq));
    CJD_RETURN_IF_ERROR(tx.Commit());
    if (static_cast<int64_t>(redemptions->size()) < kFeedBatch) break;
  }
  CJD_RETURN_IF_ERROR(ErasureFeed(*dests));
  return AlertFeed(*dests);
}

// Requests finish out of order (a device's receipt may take days): every request above the
// cursor is looked at; done ones are reported once (erasures_reported); the cursor moves past
// the leading run of reported ones.
Status Activation::ErasureFeed(const std::vector<Destination>& dests) {
  auto cursor = store_->Cursor(kErasuresCursor);
  if (!cursor.ok()) return cursor.status();
  // Every request above the cursor (pages of 500): one that never finishes must not hide later
  // ones.
  std::vector<privacy::ErasureRequest> requests;
  for (int64_t after = *cursor;;) {
    auto page = erasures_->List(after, 500);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    after = page->back().seq;
    for (auto& r : *page) requests.push_back(std::move(r));
  }
  if (requests.empty()) return Status::Ok();
  sqlite::Transaction tx(store_->db());
  CJD_RETURN_IF_ERROR(tx.status());
  int64_t next_cursor = *cursor;
  bool leading = true;
  for (const privacy::ErasureRequest& r : requests) {
    bool reported = false;
    if (r.done()) {
      auto already = store_->ErasureReported(r.id);
      if (!already.ok()) return already.status();
      if (!*already) {
        const json data = {{"erasure_id", r.id},
                           {"profile_id", r.erased_profile},
                           {"requested_at", FormatRfc3339(r.requested_ms)},
                           {"devices_confirmed", r.devices.size()},
                           {"events_redacted", r.events_redacted}};
        // No identifiers: the person is gone. Receivers match on the profile id they were sent.
        CJD_RETURN_IF_ERROR(EnqueueFor(dests, "erasure.done", "", 0, r.done_ms(), data));
        CJD_RETURN_IF_ERROR(store_->MarkErasureReported(r.id));
      }
      reported = true;
    }
    if (leading && reported) next_cursor = r.seq;
    leading = leading && reported;
  }
  if (next_cursor != *cursor) CJD_RETURN_IF_ERROR(store_->SetCursor(kErasuresCursor, next_cursor));
  return tx.Commit();
}

Status Activation::AlertFeed(const std::vector<Destination>& dests) {
  const int64_t now = clock_->NowMillis();
  if (!alerts_source_ || now - last_alerts_ms_ < kAlertsEveryMs) return Status::Ok();
  last_alerts_ms_ = now;
  auto doc = alerts_source_();
  if (!doc.ok()) return doc.status();
  std::map<std::string, json> current;
  if (const auto it = doc->find("alerts"); it != doc->end() && it->is_array()) {
    for (const json& a : *it) {
      current[a.value("device_id", "") + " " + a.value("kind", "")] = a;
    }
  }
  auto open = store_->OpenAlerts();
  if (!open.ok()) return open.status();
  sqlite::Transaction tx(store_->db());
  CJD_RETURN_IF_ERROR(tx.status());
  for (const auto& [key, alert] : current) {
    if (open->count(key) > 0) continue;
    json data = alert;
    data["state"] = "raised";
    CJD_RETURN_IF_ERROR(EnqueueFor(dests, "fleet.alert", "", 0, now, data));
    CJD_RETURN_IF_ERROR(store_->SetAlertOpen(key, alert.dump()));
  }
  for (const auto& [key, text] : *open) {
    if (current.count(key) > 0) continue;
    json data = json::parse(text, nullptr, false);
    if (!data.is_object()) data = json::object();
    data["state"] = "resolved";
    CJD_RETURN_IF_ERROR(EnqueueFor(dests, "fleet.alert", "", 0, now, data));
    CJD_RETURN_IF_ERROR(store_->SetAlertOpen(key, std::nullopt));
  }
  return tx.Commit();
}

Status Activation::Backfills() {
  std::lock_guard lock(mu_);
  auto dests = store_->List();
  if (!dests.ok()) return dests.status();
  for (const Destination& d : *dests) {
    if (d.backfill_after < 0) continue;
    auto members = segments_->Members(d.segment, d.backfill_after, kBackfillPage);
    if (!members.ok()) return members.status();
    sqlite::Transaction tx(store_->db());
    CJD_RETURN_IF_ERROR(tx.status());
    for (const segments::MemberRow& m : *members) {
      // A member whose membership changed after the destination was made: the feed sends that
      // change; the backfill is the state before it.
      auto changed = segments_->ChangedAfter(d.segment, m.profile_id, d.from_change_seq);
      if (!changed.ok()) return changed.status();
      if (*changed) continue;
      const json data = {{"segment", d.segment}, {"profile_id", m.profile_id}, {"backfill", true}};
      CJD_RETURN_IF_ERROR(
          EnqueueFor({d}, "segment.entered", d.segment, m.profile_id, m.since_ms, data));
    }
    const int64_t next = static_cast<int64_t>(members->size()) < kBackfillPage
                             ? -1
                             : members->back().profile_id;
    CJD_RETURN_IF_ERROR(store_->SetBackfill(d.id, next));
    CJD_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::Ok();
}

std::pair<int, std::string> Activation::Send(const Destination& dest, const Delivery& d) {
  json data = json::parse(d.data, nullptr, false);
  if (!data.is_object()) data = json::object();
  if (d.profile_id > 0) {
    std::lock_guard lock(mu_);
    auto ids = profiles_->Identifiers(d.profile_id);
    // A failed read is not "no identifiers" (that is an erased profile): try again later.
    if (!ids.ok()) return {0, "reading the profile's identifiers: " + ids.status().ToString()};
    data["identifiers"] = *ids;
  }
  const json body_json = {{"id", d.id},
                          {"type", d.type},
                          {"occurred_at", FormatRfc3339(d.occurred_at_ms)},
                          {"data", std::move(data)}};
  const std::string body = body_json.dump();
  auto url = http::ParseHttpUrl(dest.url);
  if (!url.ok()) return {0, url.status().message()};
  url->ca_file = config_.webhook_ca_file;
  http::HttpClient client(*url, std::chrono::milliseconds(config_.webhook_timeout_ms));
  client.set_user_agent("cjd-hub-webhooks/1");
  const std::string& target = url->path;
  http::HttpClient::Response r =
      client.Request("POST", target, body,
                     {{"Content-Type", "application/json"},
                      {"X-CJD-Signature", Signature(dest.secret, body)},
                      {"X-CJD-Delivery", d.id},
                      {"X-CJD-Event", d.type}});
  if (r.status >= 200 && r.status < 300) return {r.status, ""};
  if (r.status == 0) return {0, r.body.empty() ? "no answer" : r.body};
  return {r.status, "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200)};
}

Status Activation::Deliver() {
  std::vector<Destination> dests;
  {
    std::lock_guard lock(mu_);
    auto list = store_->List();
    if (!list.ok()) return list.status();
    dests = std::move(*list);
  }
  {
    // Finished deliveries are kept 7 days (GET .../deliveries shows them), then dropped.
    const int64_t now = clock_->NowMillis();
    if (now - last_prune_ms_ >= 3'600'000) {
      std::lock_guard lock(mu_);
      CJD_RETURN_IF_ERROR(store_->PruneDeliveries(now - 7LL * 86'400'000));
      last_prune_ms_ = now;
    }
  }
  for (const Destination& dest : dests) {
    // A slow receiver holds the thread at most about two timeouts per round.
    const int64_t round_deadline = clock_->NowMillis() + 2 * config_.webhook_timeout_ms;
    for (int i = 0; i < kSendsPerDestination && !worker_.stopping() &&
                    (i == 0 || clock_->NowMillis() < round_deadline);
         ++i) {
      std::optional<Delivery> next;
      {
        std::lock_guard lock(mu_);
        auto oldest = store_->OldestPending(dest.id);
        if (!oldest.ok()) return oldest.status();
        next = std::move(*oldest);
      }
      const int64_t now = clock_->NowMillis();
      if (!next || next->next_attempt_ms > now) break;
      auto [status, error] = Send(dest, *next);
      const int64_t after = clock_->NowMillis();
      std::lock_guard lock(mu_);
      if (error.empty()) {
        CJD_RETURN_IF_ERROR(store_->MarkDelivered(next->seq, status, after));
        ++delivered_;
        continue;
      }
      ++failed_attempts_;
      const int64_t attempts = next->attempts + 1;
      const int64_t backoff_s =
          std::min<int64_t>(config_.webhook_max_backoff_s, int64_t{1} << std::min<int64_t>(attempts - 1, 20));
      // From the start of its failures (not its queueing: a backlog behind a long outage is not
      // given up at once), and never on a first attempt.
      const int64_t failing_since = next->first_failed_ms.value_or(after);
      const bool give_up = next->attempts > 0 &&
                           after - failing_since >= config_.webhook_give_up_hours * 3'600'000;
      CJD_RETURN_IF_ERROR(store_->MarkAttemptFailed(next->seq, status, error, after,
                                                    after + backoff_s * 1000, give_up));
      if (give_up) {
        spdlog::warn("activation: delivery {} to {} failed for {} h, given up: {}", next->id,
                     dest.id, config_.webhook_give_up_hours, error);
        continue;
      }
      break;  // the destination's later deliveries wait behind this one
    }
  }
  return Status::Ok();
}

Result<bool> Activation::Put(Destination d) {
  std::lock_guard lock(mu_);
  if (!d.segment.empty()) {
    auto exists = segments_->Exists(d.segment);
    if (!exists.ok()) return exists.status();
    if (!*exists) return Status::Invalid("no segment \"" + d.segment + "\"", "segment");
  }
  auto existing = store_->Get(d.id);
  if (!existing.ok()) return existing.status();
  d.created_ms = *existing ? (*existing)->created_ms : clock_->NowMillis();
  if (*existing) {
    d.from_change_seq = (*existing)->from_change_seq;
    d.from_merge_id = (*existing)->from_merge_id;
    d.from_redemption_seq = (*existing)->from_redemption_seq;
  } else {
    auto redemption = profiles_->LastRedemptionSeq();
    if (!redemption.ok()) return redemption.status();
    d.from_redemption_seq = *redemption;
    auto seq = segments_->LastChangeSeq();
    if (!seq.ok()) return seq.status();
    auto merge = profiles_->LastMergeId();
    if (!merge.ok()) return merge.status();
    d.from_change_seq = *seq;
    d.from_merge_id = *merge;
  }
  // The audience's first sync: the segment's members now, unless this destination had it.
  const bool same_audience = *existing && (*existing)->segment == d.segment &&
                             (*existing)->Wants("segment.entered");
  if (!d.segment.empty() && d.Wants("segment.entered")) {
    d.backfill_after = same_audience ? (*existing)->backfill_after : 0;
    if (!same_audience) {
      // A new audience: the backfill is the segment now; the feed gives what comes after.
      auto seq = segments_->LastChangeSeq();
      if (!seq.ok()) return seq.status();
      d.from_change_seq = *seq;
    }
  } else {
    d.backfill_after = -1;
  }
  auto added = store_->Put(d);
  if (added.ok()) {
    std::lock_guard wake(worker_.mu());
    wake_ = true;
  }
  worker_.Notify();
  return added;
}

Result<bool> Activation::Remove(const std::string& id) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(store_->db());
  CJD_RETURN_IF_ERROR(tx.status());
  auto removed = store_->Remove(id);
  if (!removed.ok()) return removed.status();
  CJD_RETURN_IF_ERROR(tx.Commit());
  return removed;
}

Result<std::vector<Destination>> Activation::List() {
  std::lock_guard lock(mu_);
  return store_->List();
}

Result<std::optional<Destination>> Activation::Get(const std::string& id) {
  std::lock_guard lock(mu_);
  return store_->Get(id);
}

Result<DeliveryCounts> Activation::Counts(const std::string& id) {
  std::lock_guard lock(mu_);
  return store_->Counts(id);
}

Result<std::vector<Delivery>> Activation::Deliveries(const std::string& id,
                                                     std::optional<DeliveryStatus> status,
                                                     int64_t after, int64_t limit) {
  std::lock_guard lock(mu_);
  return store_->Deliveries(id, status, after, limit);
}

json Activation::StatsJson() {
  std::lock_guard lock(mu_);
  json j = {{"delivered_since_start", delivered_},
            {"failed_attempts_since_start", failed_attempts_},
            {"round_errors_since_start", round_errors_}};
  auto dests = store_->List();
  int64_t pending = 0, failed = 0;
  if (dests.ok()) {
    for (const Destination& d : *dests) {
      auto c = store_->Counts(d.id);
      if (!c.ok()) continue;
      pending += c->pending;
      failed += c->failed;
    }
    j["destinations"] = dests->size();
  }
  j["pending"] = pending;
  j["failed"] = failed;
  return j;
}

}  // namespace cjd::hub::activation
