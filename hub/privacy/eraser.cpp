#include "hub/privacy/eraser.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "hub/identity/identifier.h"
#include "hub/projection/identity_keys.h"
#include "shared/core/thread_name.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/topics.h"

namespace cjd::hub::privacy {
namespace {

using json = nlohmann::json;

std::string NewErasureId() {
  unsigned char raw[10];
  randombytes_buf(raw, sizeof raw);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "era_";
  for (unsigned char b : raw) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string KeyString(const identity::IdKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), k.size());
}

identity::IdKey KeyOf(std::string_view bytes) {
  identity::IdKey k{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), k.size()), k.begin());
  return k;
}

}  // namespace

std::string Eraser::ProgressOf(const ErasedPerson& p) const {
  json ids = json::array();
  for (const auto& [type, value] : p.identifiers) ids.push_back(json::array({type, value}));
  const json doc = {{"profile_id", p.profile_id},
                    {"events", p.event_rowids},
                    {"stores", p.store_ids},
                    {"identifiers", std::move(ids)}};
  return SealValue(projector_->keys(), doc.dump());
}

Result<ErasedPerson> Eraser::PersonFromProgress(const std::string& sealed) const {
  Result<std::string> plain = OpenValue(projector_->keys(), sealed);
  if (!plain.ok()) return plain.status();
  const json doc = json::parse(*plain, nullptr, false);
  if (!doc.is_object()) return Status::Internal("an erasure's saved progress does not parse");
  ErasedPerson p;
  p.profile_id = doc.value("profile_id", int64_t{0});
  for (const json& e : doc.value("events", json::array())) p.event_rowids.push_back(e.get<int64_t>());
  for (const json& st : doc.value("stores", json::array())) p.store_ids.push_back(st.get<std::string>());
  for (const json& pair : doc.value("identifiers", json::array())) {
    p.identifiers.emplace_back(pair[0].get<int>(), pair[1].get<std::string>());
  }
  return p;
}

void Eraser::Merge(ErasedPerson more, ErasedPerson* into) {
  if (into->profile_id == 0) into->profile_id = more.profile_id;
  auto join = [](auto& a, auto& b) {
    a.insert(a.end(), b.begin(), b.end());
    std::sort(a.begin(), a.end());
    a.erase(std::unique(a.begin(), a.end()), a.end());
  };
  join(into->event_rowids, more.event_rowids);
  join(into->store_ids, more.store_ids);
  join(into->identifiers, more.identifiers);
  into->orders = std::max(into->orders, more.orders);
}

Eraser::Eraser(const HubConfig& config, Projector* projector, std::unique_ptr<HubStore> log,
               std::unique_ptr<ErasureStore> store, const Clock* clock)
    : config_(config),
      projector_(projector),
      clock_(clock),
      normalize_{config.default_country},
      log_(std::move(log)),
      store_(std::move(store)),
      shared_(store_->shared()) {}

Eraser::~Eraser() { Stop(); }

Status Eraser::LoadSuppression() {
  Result<std::vector<std::string>> keys = [&] {
    std::lock_guard lock(store_mu_);
    return store_->SuppressedKeys();
  }();
  if (!keys.ok()) return keys.status();
  std::vector<identity::IdKey> ids;
  for (const std::string& k : *keys) ids.push_back(KeyOf(k));
  projector_->Suppress(ids);
  return Status::Ok();
}

void Eraser::Start() {
  {
    std::lock_guard lock(worker_.mu());
    wake_ = true;  // resume what a previous run left pending
  }
  worker_.Start("privacy", [this] { Run(); });
}

void Eraser::Stop() { worker_.Stop(); }

Result<ErasureRequest> Eraser::Request(const std::string& identifier, int64_t profile_id,
                                       bool suppress) {
  ErasureRequest r;
  std::string sealed;
  if (!identifier.empty()) {
    auto parsed = identity::ParseTypedIdentifier(identifier, normalize_);
    if (!parsed.ok()) return Status::Invalid(parsed.status().message(), "identifier");
    r.subject_type = static_cast<int>(parsed->first);
    r.subject_key =
        KeyString(identity::IdentifierKey(parsed->first, parsed->second, projector_->keys().pepper));
    sealed = SealValue(projector_->keys(),
                       json::array({json::array({r.subject_type, parsed->second})}).dump());
  } else {
    r.profile_id = profile_id;
  }
  r.id = NewErasureId();
  r.suppress = suppress;
  r.requested_ms = clock_->NowMillis();
  r.deadline_ms = r.requested_ms + config_.erasure_deadline_minutes * 60'000;
  {
    std::lock_guard lock(store_mu_);
    Result<int64_t> seq = store_->Add(r, sealed);
    if (!seq.ok()) return seq.status();
    r.seq = *seq;
  }
  {
    std::lock_guard lock(worker_.mu());
    wake_ = true;
  }
  worker_.Notify();
  return r;
}

Result<std::optional<ErasureRequest>> Eraser::Get(const std::string& id) {
  std::lock_guard lock(store_mu_);
  return store_->Get(id);
}

Result<std::vector<ErasureRequest>> Eraser::List(int64_t after_seq, int limit) {
  std::lock_guard lock(store_mu_);
  return store_->List(after_seq, limit);
}

Result<ErasureStore::Counts> Eraser::Counts() {
  std::lock_guard lock(store_mu_);
  return store_->Count(clock_->NowMillis());
}

void Eraser::SuppressedEvents(std::vector<int64_t> rows) {
  {
    std::lock_guard lock(worker_.mu());
    redact_rows_.insert(redact_rows_.end(), rows.begin(), rows.end());
    wake_ = true;
  }
  worker_.Notify();
}

void Eraser::Run() {
  // The hub's own work (queued redactions, pending requests) when asked for it, and at the
  // latest every 30 s (a retry after a failure), also while devices' heartbeats keep waking the
  // thread for what each is owed. A hub sharing its store with other instances does it every
  // few seconds: it also applies the requests they finished to its own projection
  // (ApplyFinished).
  const auto period = std::chrono::seconds(shared_ ? kSharedPollSeconds : 30);
  auto next_pending = std::chrono::steady_clock::now();  // at once: resume what was left
  while (!worker_.stopping()) {
    bool run_pending = false;
    {
      std::unique_lock lock(worker_.mu());
      const auto now = std::chrono::steady_clock::now();
      const auto wait = next_pending > now ? next_pending - now
                                           : std::chrono::steady_clock::duration::zero();
      worker_.WaitFor(lock, std::chrono::duration_cast<std::chrono::milliseconds>(wait), [&] {
        return wake_ || !seen_devices_.empty() || !receipts_.empty();
      });
      if (worker_.stopping()) return;
      run_pending = wake_ || std::chrono::steady_clock::now() >= next_pending;
      wake_ = false;
    }
    Status st = Status::Ok();
    if (run_pending) {
      st = RunPending();
      next_pending = std::chrono::steady_clock::now() + period;
    }
    if (st.ok()) {
      std::lock_guard work(work_mu_);
      st = HandleReceipts();
      std::set<std::string> seen;
      {
        std::lock_guard lock(worker_.mu());
        seen.swap(seen_devices_);
      }
      for (const std::string& d : seen) {
        if (!st.ok()) break;
        st = SendOwed(d, false);
      }
    }
    if (!st.ok()) {
      spdlog::error("privacy: erasure failed, retrying in {} s: {}", period.count(),
                    st.ToString());
    }
  }
}

Status Eraser::RunPending() {
  std::lock_guard work(work_mu_);
  CJD_RETURN_IF_ERROR(RedactQueued());
  Result<std::vector<ErasureRequest>> pending = [&] {
    std::lock_guard lock(store_mu_);
    return store_->HubPending();
  }();
  if (!pending.ok()) return pending.status();
  if (pending->empty()) return shared_ ? ApplyFinished() : Status::Ok();
  Result<std::vector<DeviceRow>> devices = log_->ListDevices();
  if (!devices.ok()) return devices.status();
  // In chunks: each request's hub part, then one emptying of the WALs for the chunk, then the
  // requests are marked done (so "done" always means no copy is left in a WAL) and the devices
  // get their commands.
  constexpr size_t kChunk = 256;
  for (size_t at = 0; at < pending->size() && !worker_.stopping(); at += kChunk) {
    std::vector<HubDone> chunk;
    for (size_t i = at; i < std::min(pending->size(), at + kChunk); ++i) {
      Result<HubDone> done = Process((*pending)[i], *devices);
      if (!done.ok()) return done.status();
      chunk.push_back(std::move(*done));
    }
    TruncateWals();
    projector_->TruncateWal();
    const int64_t now = clock_->NowMillis();
    for (const HubDone& d : chunk) {
      Status completed = [&] {
        std::lock_guard lock(store_mu_);
        return store_->CompleteHub(d.id, now, d.profile_id, d.redacted, d.device_ids, d.sealed,
                                   d.suppress_keys, d.person_keys);
      }();
      if (shared_) {
        // This projection has the request applied, whichever instance's CompleteHub landed.
        CJD_RETURN_IF_ERROR(projector_->MarkErasureApplied(d.id, now, /*swept=*/false));
        if (completed.code() == Code::kNotFound) {
          spdlog::info("privacy: erasure {}: another hub instance finished its hub part first; "
                       "applied to this instance's projection too",
                       d.id);
          continue;
        }
      }
      CJD_RETURN_IF_ERROR(completed);
      spdlog::info("privacy: erasure {} done on the hub in {} ms (profile {}, {} events "
                   "redacted, {} devices to confirm)",
                   d.id, now - d.requested_ms, d.profile_id, d.redacted, d.device_ids.size());
    }
    std::set<std::string> targets;
    for (const HubDone& d : chunk) targets.insert(d.device_ids.begin(), d.device_ids.end());
    for (const std::string& device : targets) CJD_RETURN_IF_ERROR(SendOwed(device, true));
  }
  return shared_ ? ApplyFinished() : Status::Ok();
}

Status Eraser::ApplyFinished() {
  if (applied_since_ms_ < 0) {
    Result<int64_t> created = projector_->CreatedMs();
    if (!created.ok()) return created.status();
    applied_since_ms_ = *created - kClockMarginMs;
  }
  Result<std::vector<ErasureStore::Finished>> finished = [&] {
    std::lock_guard lock(store_mu_);
    return store_->HubDoneSince(applied_since_ms_);
  }();
  if (!finished.ok()) return finished.status();
  int64_t newest = 0;
  for (const ErasureStore::Finished& f : *finished) {
    newest = std::max({newest, f.hub_done_ms, f.swept_ms});
    Result<Projector::ErasureApplied> state = projector_->ErasureState(f.id);
    if (!state.ok()) return state.status();
    // Applied here already, and swept here when it has been swept at all.
    if (*state == Projector::ErasureApplied::kAndSwept ||
        (*state == Projector::ErasureApplied::kYes && f.swept_ms == 0)) {
      continue;
    }
    std::vector<identity::IdKey> keys;
    for (const std::string& k : f.keys) keys.push_back(KeyOf(k));
    // The final sweep is the same again, for a profile that a late event (in flight from a
    // device) made here meanwhile.
    Result<std::vector<ErasedPerson>> erased = EraseEveryProfileOf(keys);
    if (!erased.ok()) return erased.status();
    const bool first = *state == Projector::ErasureApplied::kNo;
    if (f.suppress && first) projector_->Suppress(keys);
    if (!erased->empty()) projector_->TruncateWal();
    CJD_RETURN_IF_ERROR(
        projector_->MarkErasureApplied(f.id, clock_->NowMillis(), /*swept=*/f.swept_ms > 0));
    spdlog::info("privacy: erasure {} ({} by another hub instance) applied to this instance's "
                 "projection: {} profile(s) erased{}",
                 f.id, first ? "hub part done" : "final sweep run", erased->size(),
                 f.suppress && first ? ", identifiers suppressed" : "");
  }
  // Requests finish in about the order of their times; the margin covers the instances' clocks
  // and a commit that landed after a later one.
  applied_since_ms_ = std::max(applied_since_ms_, newest - kClockMarginMs);
  return Status::Ok();
}

Status Eraser::RedactQueued() {
  std::vector<int64_t> rows;
  {
    std::lock_guard lock(worker_.mu());
    rows.swap(redact_rows_);
  }
  if (rows.empty()) return Status::Ok();
  Result<int64_t> n = log_->RedactEvents(rows);
  if (!n.ok()) {
    std::lock_guard lock(worker_.mu());
    redact_rows_.insert(redact_rows_.end(), rows.begin(), rows.end());
    return n.status();
  }
  spdlog::info("privacy: {} events of suppressed people redacted in the log", *n);
  TruncateWals();
  return Status::Ok();
}

void Eraser::TruncateWals() {
  // Waits for readers up to twice the busy timeout (sqlite::Database::TruncateWal).
  Result<bool> done = log_->TruncateWal();
  if (done.ok() && *done) return;
  spdlog::warn("privacy: hub.db's WAL could not be emptied now (busy readers); the next "
               "checkpoint overwrites it");
}

Result<Eraser::HubDone> Eraser::Process(const ErasureRequest& r,
                                        const std::vector<DeviceRow>& devices) {
  std::vector<identity::IdKey> keys;
  if (!r.subject_key.empty()) keys.push_back(KeyOf(r.subject_key));
  // First what would be erased, recorded (sealed) before anything changes: after a restart
  // between the projection's erasure and the log's redaction, the record still names the rows,
  // stores and identifiers that the projection no longer holds. A record saved by an earlier
  // attempt is taken as it is.
  Result<std::string> saved = [&] {
    std::lock_guard lock(store_mu_);
    return store_->Progress(r.id);
  }();
  if (!saved.ok()) return saved.status();
  ErasedPerson person;
  if (!saved->empty()) {
    Result<ErasedPerson> loaded = PersonFromProgress(*saved);
    if (!loaded.ok()) return loaded.status();
    person = std::move(*loaded);
  } else {
    Result<ErasedPerson> plan = projector_->Erase(r.profile_id, keys, /*dry_run=*/true);
    if (!plan.ok() && plan.status().code() != Code::kNotFound) return plan.status();
    if (plan.ok()) person = std::move(*plan);
    std::lock_guard lock(store_mu_);
    CJD_RETURN_IF_ERROR(store_->SaveProgress(r.id, ProgressOf(person)));
  }
  Result<ErasedPerson> erased = projector_->Erase(r.profile_id, keys);
  if (!erased.ok() && erased.status().code() != Code::kNotFound) return erased.status();
  if (erased.ok()) Merge(std::move(*erased), &person);  // events that came in between

  Result<int64_t> redacted = person.event_rowids.empty() ? Result<int64_t>(int64_t{0})
                                                         : log_->RedactEvents(person.event_rowids);
  if (!redacted.ok()) return redacted.status();

  // Who must confirm: the devices of the stores where the person was seen; every device when
  // nobody held the identifier (its events may wait in any outbox).
  const std::set<std::string> stores(person.store_ids.begin(), person.store_ids.end());
  std::vector<std::string> device_ids;
  for (const DeviceRow& d : devices) {
    if (person.profile_id == 0 ? r.profile_id == 0 : stores.count(d.record.store_id) > 0) {
      device_ids.push_back(d.record.device_id);
    }
  }

  // The values the devices' commands carry, and with suppress the hashes to keep: the person's
  // identifiers and the one asked for.
  json values = json::array();
  std::vector<std::string> suppress_keys;
  std::set<std::string> seen;
  auto add = [&](int type, const std::string& value) {
    const auto key = KeyString(
        identity::IdentifierKey(static_cast<identity::IdType>(type), value, projector_->keys().pepper));
    if (!seen.insert(key).second) return;
    values.push_back(json::array({type, value}));
    if (r.suppress) suppress_keys.push_back(key);
  };
  for (const auto& [type, value] : person.identifiers) add(type, value);
  {
    Result<std::string> subject = [&] {
      std::lock_guard lock(store_mu_);
      return store_->SealedSubject(r.id);
    }();
    if (!subject.ok()) return subject.status();
    if (!subject->empty()) {
      Result<std::string> plain = OpenValue(projector_->keys(), *subject);
      if (plain.ok()) {
        json parsed = json::parse(*plain, nullptr, false);
        if (parsed.is_array()) {
          for (const json& pair : parsed) add(pair[0].get<int>(), pair[1].get<std::string>());
        }
      }
    }
  }
  // Crypto-shredding: the data keys of every one of those identifiers are destroyed, so their
  // events' sealed parts open nowhere again, in this hub.db or any earlier copy of it.
  if (vault_ != nullptr) {
    std::vector<identity::IdKey> shred;
    for (const std::string& k : seen) shred.push_back(KeyOf(k));
    Result<int64_t> destroyed = vault_->Destroy(shred);
    if (!destroyed.ok()) return destroyed.status();
  }
  if (r.suppress) {
    std::vector<identity::IdKey> ids;
    for (const std::string& k : suppress_keys) ids.push_back(KeyOf(k));
    projector_->Suppress(ids);
  }
  HubDone done;
  done.id = r.id;
  done.requested_ms = r.requested_ms;
  done.profile_id = person.profile_id;
  done.redacted = *redacted;
  done.device_ids = std::move(device_ids);
  done.sealed = SealValue(projector_->keys(), values.dump());
  done.suppress_keys = std::move(suppress_keys);
  // For the other instances sharing the store (each erases the person from its own projection
  // by these); a hub with its own privacy.db keeps only what suppression needs.
  if (shared_) done.person_keys.assign(seen.begin(), seen.end());
  return done;
}

void Eraser::DeviceSeen(const std::string& device_id) {
  {
    std::lock_guard lock(worker_.mu());
    seen_devices_.insert(device_id);
  }
  worker_.Notify();
}

void Eraser::Receipt(const std::string& device_id, const EraseReceipt& receipt) {
  {
    std::lock_guard lock(worker_.mu());
    receipts_.emplace_back(device_id, receipt);
  }
  worker_.Notify();
}

Result<SessionKeys> Eraser::DeviceKeys(const std::string& device_id) {
  auto it = device_keys_.find(device_id);
  if (it != device_keys_.end()) return it->second;
  auto device = log_->FindDevice(device_id);
  if (!device.ok()) return device.status();
  if (!*device) return Status::NotFound("no device " + device_id);
  auto pub = KeyFromBase64((*device)->public_key, "public_key");
  if (!pub.ok()) return pub.status();
  auto keys = HubSessionKeys(config_.keys, *pub, (*device)->key_id);
  if (!keys.ok()) return keys.status();
  device_keys_.emplace(device_id, *keys);
  return *keys;
}

bool Eraser::DeviceProbed(const std::string& device_id, const SessionKeys& keys) {
  bool all_sent = true;
  Status st = SendOwed(device_id, /*now_anyway=*/true, &keys, &all_sent);
  if (!st.ok()) {
    spdlog::warn("privacy: commands owed to {} not sent: {}", device_id, st.ToString());
    return false;
  }
  return all_sent;
}

Status Eraser::SendOwed(const std::string& device_id, bool now_anyway, const SessionKeys* keys_in,
                        bool* all_sent) {
  if (!publish_) return Status::Ok();
  Result<std::vector<ErasureStore::Owed>> owed = [&] {
    std::lock_guard lock(store_mu_);
    return store_->OwedTo(device_id);
  }();
  if (!owed.ok()) return owed.status();
  const int64_t now = clock_->NowMillis();
  for (const ErasureStore::Owed& o : *owed) {
    if (!now_anyway && o.sent_ms != 0 && now - o.sent_ms < kResendAfterMs) continue;
    Result<std::string> plain = OpenValue(projector_->keys(), o.sealed_values);
    if (!plain.ok()) return plain.status();
    json values = json::parse(*plain, nullptr, false);
    EraseCommand command;
    command.erasure_id = o.erasure_id;
    command.default_country = config_.default_country;
    if (values.is_array()) {
      for (const json& pair : values) {
        command.identifiers.emplace_back(
            identity::IdTypeName(static_cast<identity::IdType>(pair[0].get<int>())),
            pair[1].get<std::string>());
      }
    }
    if (command.identifiers.size() > kMaxEraseIdentifiers) {
      command.identifiers.resize(kMaxEraseIdentifiers);
    }
    if (command.identifiers.empty()) continue;  // nothing a device could hold
    Result<SessionKeys> keys = keys_in != nullptr ? Result<SessionKeys>(*keys_in) : DeviceKeys(device_id);
    if (!keys.ok()) {
      spdlog::warn("privacy: no keys for device {}: {}", device_id, keys.status().ToString());
      continue;
    }
    FrameHeader h;
    h.kind = FrameKind::kErase;
    h.key_id = keys->key_id;
    const std::string frame =
        SealFrame(h, device_id, EncodeEraseCommand(command), keys->downlink, false);
    if (!publish_(topics::Down(device_id), frame)) {  // at its next heartbeat
      if (all_sent != nullptr) *all_sent = false;
      return Status::Ok();
    }
    std::lock_guard lock(store_mu_);
    CJD_RETURN_IF_ERROR(store_->MarkSent(o.erasure_id, device_id, now));
  }
  return Status::Ok();
}

Status Eraser::HandleReceipts() {
  std::vector<std::pair<std::string, EraseReceipt>> receipts;
  {
    std::lock_guard lock(worker_.mu());
    receipts.swap(receipts_);
  }
  for (const auto& item : receipts) {
    const std::string& device_id = item.first;  // (not a structured binding: lambdas use it)
    const EraseReceipt& receipt = item.second;
    const int64_t now = clock_->NowMillis();
    Result<bool> taken = [&] {
      std::lock_guard lock(store_mu_);
      return store_->DeviceDone(receipt.erasure_id, device_id, now);
    }();
    if (!taken.ok()) return taken.status();
    if (!*taken) continue;  // not asked of this device, or a repeated receipt
    spdlog::info("privacy: erasure {} confirmed by device {} ({} outbox rows redacted, {} offer "
                 "assignments removed)",
                 receipt.erasure_id, device_id, receipt.outbox_redacted, receipt.offers_removed);
    Result<std::string> values = [&] {
      std::lock_guard lock(store_mu_);
      return store_->ValuesIfAllDone(receipt.erasure_id);
    }();
    if (!values.ok()) return values.status();
    if (values->empty()) continue;
    CJD_RETURN_IF_ERROR(Sweep(receipt.erasure_id, *values));
  }
  return Status::Ok();
}

Result<std::vector<ErasedPerson>> Eraser::EraseEveryProfileOf(
    const std::vector<identity::IdKey>& keys) {
  // Projector::Erase by keys erases the profile of the first key held; each profile erased
  // holds at least one of them, so keys.size() + 1 rounds find every one.
  std::vector<ErasedPerson> out;
  for (size_t round = 0; round <= keys.size() && !keys.empty(); ++round) {
    Result<ErasedPerson> gone = projector_->Erase(0, keys);
    if (!gone.ok()) return gone.status();
    if (gone->profile_id == 0) break;
    out.push_back(std::move(*gone));
  }
  return out;
}

Status Eraser::Sweep(const std::string& id, const std::string& sealed_values) {
  // With a shared store the request may not be applied here yet (another instance ran its hub
  // part): that first, so its suppression holds here before the sweep is recorded.
  if (shared_) CJD_RETURN_IF_ERROR(ApplyFinished());
  Result<std::string> plain = OpenValue(projector_->keys(), sealed_values);
  std::vector<identity::IdKey> keys;
  if (plain.ok()) {
    json values = json::parse(*plain, nullptr, false);
    if (values.is_array()) {
      for (const json& pair : values) {
        keys.push_back(identity::IdentifierKey(static_cast<identity::IdType>(pair[0].get<int>()),
                                               pair[1].get<std::string>(),
                                               projector_->keys().pepper));
      }
    }
  }
  // Events that were in flight from a device when the hub part ran may have brought the person
  // back: erase again (nothing to do is the usual case), and destroy the data keys such events
  // were sealed under (created anew after the first destruction).
  if (vault_ != nullptr && !keys.empty()) {
    Result<int64_t> destroyed = vault_->Destroy(keys);
    if (!destroyed.ok()) return destroyed.status();
  }
  Result<std::vector<ErasedPerson>> again = EraseEveryProfileOf(keys);
  if (!again.ok()) return again.status();
  for (const ErasedPerson& p : *again) {
    Result<int64_t> redacted = log_->RedactEvents(p.event_rowids);
    if (!redacted.ok()) return redacted.status();
    spdlog::info("privacy: erasure {}: profile {} made by late events erased too", id,
                 p.profile_id);
  }
  TruncateWals();
  projector_->TruncateWal();
  const int64_t now = clock_->NowMillis();
  if (shared_) CJD_RETURN_IF_ERROR(projector_->MarkErasureApplied(id, now, /*swept=*/true));
  std::lock_guard lock(store_mu_);
  return store_->DropValues(id, now);
}

}  // namespace cjd::hub::privacy
