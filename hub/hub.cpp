#include "hub/hub.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "hub/segments/table_facts.h"
#include "hub/store/open_store.h"
#include "shared/storage/postgres.h"
#include "hub/store/sqlite_hub_store.h"
#include "shared/storage/memory_report.h"

namespace cjd::hub {

Hub::Hub(HubConfig config, const Clock* clock) : config_(std::move(config)), clock_(clock) {}

Hub::~Hub() { Stop(); }

Status Hub::Start() {
  CJD_RETURN_IF_ERROR(InitCrypto());
  // One bound for every SQLite connection of the process (page caches recycle above it).
  if (config_.sqlite_memory_mib > 0) SetSqliteMemoryLimit(config_.sqlite_memory_mib << 20);
  // The projection: profiles.db, derived from the event log.
  {
    std::error_code ec;
    if (!std::filesystem::exists(config_.identity_key_file, ec) &&
        std::filesystem::exists(config_.profiles_path, ec)) {
      return Status::Invalid(
          "identity.key_file: " + config_.identity_key_file + " is missing but " +
              config_.profiles_path +
              " exists: a new key would match no stored identifier. Restore the key from its "
              "backup, or delete the profiles database to rebuild it under a new key",
          "identity.key_file");
    }
  }
  auto keys = LoadOrCreateIdentityKeys(config_.identity_key_file);
  if (!keys.ok()) return keys.status();
  // The event log's personal data is sealed under data keys an erasure destroys (keys.db,
  // wrapped by the master key file): every connection that writes or reads events uses it.
  {
    EventVault::Options vo;
    vo.keys_path = config_.keys_path;
    vo.database_url = config_.store_url;  // on PostgreSQL the keys live there, shared
    vo.master_key_file = config_.master_key_file;
    vo.pepper = keys->pepper;
    vo.normalize.default_country = config_.default_country;
    auto vault = EventVault::Open(std::move(vo));
    if (!vault.ok()) return vault.status();
    vault_ = std::move(*vault);
  }
  auto ingest_store = OpenHubStore(config_.store_location(), vault_);
  if (!ingest_store.ok()) return ingest_store.status();
  auto api_store = OpenHubStore(config_.store_location(), vault_);
  if (!api_store.ok()) return api_store.status();
  auto collect_store = OpenHubStore(config_.store_location(), vault_);
  if (!collect_store.ok()) return collect_store.status();
  // Rows stored whole before sealing existed (a SQLite hub.db of an earlier version) are sealed
  // in place before anything reads them. A PostgreSQL store is sealed from its first row.
  if (config_.store_url.empty()) {
    auto old_store = SqliteHubStore::Open(config_.store_path, vault_);
    if (!old_store.ok()) return old_store.status();
    int64_t total = 0;
    while (true) {
      Result<int64_t> n = (*old_store)->SealPlaintext(2000);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      total += *n;
    }
    if (total > 0) {
      (void)(*old_store)->TruncateWal();
      spdlog::info("sealed the personal part of {} events stored before sealing", total);
    }
  }
  projector_ = std::make_unique<Projector>(config_, *keys, clock_);
  projector_->set_event_vault(vault_);
  projector_->set_rfm(&rfm_);
  // Segments: membership kept current from the projection's change feed (segments.db). Created
  // before the projector starts so the feed reaches it from the first commit; started after, as
  // it reads profiles.db.
  segments_ = std::make_unique<segments::SegmentEngine>(config_, projector_->keys(), &rfm_, clock_);
  // Journeys: timelines and sessions (journeys.db), fed by the log up to the projection's cursor
  // and told by the change feed which profiles' events moved (merges, splits, erasures).
  {
    journeys::JourneysOptions jo;
    jo.path = config_.journeys_path;
    jo.profiles_path = config_.profiles_path;
    jo.log_path = config_.store_location();
    jo.sessions.gap_ms = config_.session_gap_minutes * 60'000;
    jo.sessions.cap_ms = config_.session_cap_hours * 3'600'000;
    jo.stages.retention_orders = config_.stage_retention_orders;
    jo.stages.advocacy_orders = config_.stage_advocacy_orders;
    jo.stages.window_ms = config_.stage_window_days * 86'400'000;
    journeys_ = std::make_unique<journeys::Journeys>(std::move(jo));
  }
  // Predictions: refitted from the projection's orders on a schedule (predictions.db); the
  // change feed drops the scores of profiles erased or merged away.
  if (config_.predictions_enabled) {
    predictions::PredictorOptions po;
    po.path = config_.predictions_path;
    po.profiles_path = config_.profiles_path;
    po.horizon_days = static_cast<int32_t>(config_.predictions_horizon_days);
    po.refit_interval_ms = config_.predictions_refit_hours * 3'600'000;
    po.refit_growth_percent = config_.predictions_refit_growth_percent;
    po.check_interval_ms = config_.predictions_check_seconds * 1000;
    predictor_ = std::make_unique<predictions::Predictor>(std::move(po), clock_);
    // A refit moves every customer's figures: rules that read them are evaluated again.
    predictor_->set_on_refit([s = segments_.get()] {
      if (s->uses_predictions()) s->EvaluateAll();
    });
  }
  // Probabilistic matching (matching.db): fed the changed profiles, merges through the projector.
  if (config_.probabilistic) {
    matching::MatcherOptions mo;
    mo.path = config_.matching_path;
    mo.profiles_path = config_.profiles_path;
    mo.merge_threshold = config_.match_merge_threshold;
    mo.review_threshold = config_.match_review_threshold;
    mo.min_records = config_.match_min_profiles;
    mo.refit_interval_ms = config_.match_refit_hours * 3'600'000;
    mo.refit_growth_percent = config_.match_refit_growth_percent;
    matcher_ = std::make_unique<matching::ProfileMatcher>(
        std::move(mo), projector_->keys(),
        [p = projector_.get()](const std::vector<MatchMerge>& merges) {
          return p->MergeMatched(merges);
        },
        [p = projector_.get()](int64_t a, int64_t b) { return p->KeepApart(a, b); }, clock_);
  }
  projector_->set_on_profiles_changed(
      [s = segments_.get(), p = predictor_.get()](const std::vector<int64_t>& ids) {
        s->ProfilesChanged(ids);
        if (p != nullptr) p->ProfilesChanged(ids);
      });
  if (matcher_) {  // only attribute changes (identify, merges, splits, erasures): not every sale
    projector_->set_on_attributes_changed([m = matcher_.get()](const std::vector<int64_t>& ids) {
      m->ProfilesChanged(ids);
    });
  }
  projector_->set_on_events_moved([j = journeys_.get()](const std::vector<int64_t>& ids) {
    j->ProfilesChanged(ids);
  });
  // Journey stages as segment fields: read from the timelines; a changed timeline re-evaluates
  // its person when some rule reads a stage.
  segments_->set_journey_stage([j = journeys_.get()](int64_t id, int64_t now) {
    const auto [current, furthest] = j->StageOf(id, now);
    auto name = [](int s) { return s < 0 ? std::string() : std::string(journeys::kStageNames[s]); };
    return std::pair{name(current), name(furthest)};
  });
  segments_->set_tracked_events(
      [j = journeys_.get()](int64_t id) { return j->TrackedEventsOf(id); });
  journeys_->set_on_persons_changed([s = segments_.get()](const std::vector<int64_t>& ids) {
    if (s->uses_journeys()) s->ProfilesChanged(ids);
  });
  // A new set of RFM cut points re-evaluates only the customers whose score it moved.
  projector_->set_on_rfm_rescored([s = segments_.get()](const std::vector<int64_t>& ids) {
    s->ProfilesChanged(ids);
  });
  // Offers: planned from the profiles and segments, sent over the ingestor's MQTT connection.
  // The planner hears of changed customers from the segment engine, after their memberships
  // are current (every profile the engine evaluated: consent and redemptions included).
  if (config_.offers_enabled) {
    planner_ = std::make_unique<offers::OfferPlanner>(offers::PlannerOptionsFrom(config_),
                                                      config_.keys, projector_->keys(), clock_);
    segments_->set_on_members_changed(
        [planner = planner_.get()](const std::vector<int64_t>& ids) {
          planner->ProfilesChanged(ids);
        });
  }
  // Rights requests (privacy.db, or the PostgreSQL store): erasures run on their own thread;
  // suppression must hold from the projector's first batch.
  auto erasure_store = privacy::ErasureStore::Open(config_.privacy_location());
  if (!erasure_store.ok()) return erasure_store.status();
  auto eraser_log = OpenHubStore(config_.store_location(), vault_);
  if (!eraser_log.ok()) return eraser_log.status();
  eraser_ = std::make_unique<privacy::Eraser>(config_, projector_.get(), std::move(*eraser_log),
                                              std::move(*erasure_store), clock_);
  eraser_->set_event_vault(vault_);
  projector_->set_on_suppressed_events([e = eraser_.get()](std::vector<int64_t> rows) {
    e->SuppressedEvents(std::move(rows));
  });
  CJD_RETURN_IF_ERROR(eraser_->LoadSuppression());
  CJD_RETURN_IF_ERROR(projector_->Start());
  std::shared_ptr<predictions::PredictionReader> prediction_facts;
  if (predictor_) {
    CJD_RETURN_IF_ERROR(predictor_->Start());  // after the projector: it reads profiles.db
    auto reader = predictions::PredictionReader::Open(config_.predictions_path);
    if (!reader.ok()) return reader.status();
    prediction_facts = std::move(*reader);
    segments_->set_prediction_facts(
        [r = prediction_facts, n = static_cast<int>(config_.predictions_horizon_days)](
            int64_t id, segments::ProfileFacts* facts) -> Status {
          auto entry = r->Read(id);
          if (!entry.ok()) return entry.status();
          segments::AddPredictionFacts(*entry, n, facts);
          return Status::Ok();
        });
  }
  if (matcher_) CJD_RETURN_IF_ERROR(matcher_->Start());  // after the projector: reads profiles.db
  identity_api_ = std::make_unique<IdentityApi>(matcher_.get());
  CJD_RETURN_IF_ERROR(segments_->Start());
  CJD_RETURN_IF_ERROR(journeys_->Start());
  // Webhooks: after the segment engine (segments.db) and the projector (profiles.db).
  activation_ = std::make_unique<activation::Activation>(config_, projector_->keys(), clock_);
  destination_api_ = std::make_unique<DestinationApi>(activation_.get());
  auto segment_reader = segments::SegmentStore::Open(config_.segments_path, /*read_only=*/true);
  if (!segment_reader.ok()) return segment_reader.status();
  segment_api_ = std::make_unique<SegmentApi>(segments_.get(), std::move(*segment_reader));

  auto reader = ProfileReader::Open(config_.profiles_path, config_.store_location(), projector_->keys(),
                                    &rfm_, vault_);
  if (!reader.ok()) return reader.status();
  auto metrics_reader = ProfileReader::Open(config_.profiles_path, config_.store_location(),
                                            projector_->keys(), &rfm_, vault_);
  if (!metrics_reader.ok()) return metrics_reader.status();
  profile_api_ = std::make_unique<ProfileApi>(config_, std::move(*reader),
                                              std::move(*metrics_reader), projector_.get(), clock_);
  profile_api_->set_journey_stage([j = journeys_.get()](int64_t id, int64_t now) {
    const auto [current, furthest] = j->StageOf(id, now);
    auto name = [](int s) {
      return s < 0 ? nlohmann::json(nullptr) : nlohmann::json(journeys::kStageNames[s]);
    };
    return nlohmann::json{{"current", name(current)}, {"furthest", name(furthest)}};
  });
  profile_api_->set_segments_of([s = segment_api_.get()](int64_t id) { return s->SegmentsOf(id); });
  {
    std::unique_ptr<predictions::PredictionReader> api_reader;
    if (predictor_) {
      auto traits = predictions::PredictionReader::Open(config_.predictions_path);
      if (!traits.ok()) return traits.status();
      profile_api_->set_prediction_traits(
          [r = std::shared_ptr<predictions::PredictionReader>(std::move(*traits)),
           n = static_cast<int32_t>(config_.predictions_horizon_days)](
              int64_t id) -> Result<nlohmann::json> {
            auto entry = r->Read(id);
            if (!entry.ok()) return entry.status();
            return predictions::PredictionTraits(*entry, n);
          });
      auto paging = predictions::PredictionReader::Open(config_.predictions_path);
      if (!paging.ok()) return paging.status();
      api_reader = std::move(*paging);
    }
    prediction_api_ = std::make_unique<PredictionApi>(
        predictor_.get(), std::move(api_reader),
        [api = profile_api_.get()](const std::vector<int64_t>& ids) {
          return api->IdentifiersOf(ids);
        });
  }

  offer_api_ = std::make_unique<OfferApi>(
      planner_.get(), [api = profile_api_.get()](const std::string& id) {
        return api->OfferStats(id);
      });

  ingestor_ = std::make_unique<Ingestor>(config_, std::move(*ingest_store), clock_);
  api_ = std::make_unique<HubApi>(config_, std::move(*api_store), std::move(*collect_store),
                                  ingestor_.get(), clock_);
  // Named tokens with roles, and the audit log (access.db, or the access_* tables of [store] url
  // shared by every instance; `cjdctl add-token`).
  auto access = access::AccessStore::OpenWithKeyFile(
      config_.store_url.empty() ? config_.access_path : config_.store_url, config_.audit_key_file);
  if (!access.ok()) return access.status();
  api_->set_access(std::move(*access));
  api_->set_profile_api(profile_api_.get());
  api_->set_segment_api(segment_api_.get());
  api_->set_offer_api(offer_api_.get(), planner_.get());
  privacy_api_ = std::make_unique<PrivacyApi>(profile_api_.get(), segment_api_.get(),
                                              eraser_.get(), clock_);
  api_->set_privacy_api(privacy_api_.get());
  {
    auto journey_segments = segments::SegmentStore::Open(config_.segments_path, /*read_only=*/true);
    if (!journey_segments.ok()) return journey_segments.status();
    journey_api_ =
        std::make_unique<JourneyApi>(journeys_.get(), std::move(*journey_segments), clock_);
    journey_api_->set_profile_facts(config_.profiles_path, &projector_->keys());
    api_->set_journey_api(journey_api_.get());
  }
  api_->set_prediction_api(prediction_api_.get());
  api_->set_identity_api(identity_api_.get());
  api_->set_destination_api(destination_api_.get());
  // Its thread starts once the API it reads fleet alerts from exists.
  activation_->set_alerts_source([api = api_.get()] { return api->AlertsJson(); });
  CJD_RETURN_IF_ERROR(activation_->Start());
  eraser_->set_publisher([ingestor = ingestor_.get()](const std::string& topic,
                                                       const std::string& payload) {
    return ingestor->Publish(topic, payload);
  });
  ingestor_->set_on_probe([e = eraser_.get()](const std::string& device_id,
                                               const SessionKeys& device_keys) {
    return e->DeviceProbed(device_id, device_keys);
  });
  ingestor_->set_on_erase_receipt(
      [e = eraser_.get()](const std::string& device_id, const EraseReceipt& receipt) {
        e->Receipt(device_id, receipt);
      });
  if (planner_) {
    planner_->set_publisher([ingestor = ingestor_.get()](const std::string& topic,
                                                         const std::string& payload) {
      return ingestor->Publish(topic, payload);
    });
  }
  ingestor_->set_on_device_status([planner = planner_.get(), eraser = eraser_.get()](
                                      const std::string& device_id, const std::string& status) {
    if (planner != nullptr) planner->DeviceStatus(device_id, status);
    eraser->DeviceSeen(device_id);
  });
  auto on_commit = [projector = projector_.get(), j = journeys_.get(),
                    hook = on_events_committed_] {
    projector->Nudge();
    j->Nudge();
    if (hook) hook();
  };
  ingestor_->set_on_events_committed(on_commit);
  api_->set_on_events_committed(on_commit);
  http::ServerOptions options;
  options.listen = config_.listen;
  options.threads = config_.http_threads;
  options.body_limit = static_cast<size_t>(config_.max_body_bytes);
  options.max_connections = static_cast<size_t>(config_.http_max_connections);
  options.header_timeout_ms = static_cast<int>(config_.http_header_timeout_ms);
  options.request_timeout_ms = static_cast<int>(config_.http_request_timeout_ms);
  options.request_metrics = api_->request_metrics();
  options.route_label = HubRouteLabel;
  // Handlers run on the worker pool (a collect commit or a metrics query may take a while); the
  // I/O threads keep reading, writing and answering /healthz.
  workers_ = std::make_unique<http::WorkerPool>(config_.http_workers);
  server_ = std::make_unique<http::Server>(
      options,
      http::OffloadTo(
          workers_.get(),
          [api = api_.get()](http::Request&& req, http::Responder respond) {
            api->Handle(std::move(req), std::move(respond));
          },
          [](const http::Request& req) { return req.path == "/healthz"; }),
      [api = api_.get()](const http::Request& head) { return api->Authorize(head); });
  CJD_RETURN_IF_ERROR(server_->Start());
  CJD_RETURN_IF_ERROR(ingestor_->Start());
  eraser_->Start();  // after the ingestor: it sends erase commands through it
  if (planner_) CJD_RETURN_IF_ERROR(planner_->Start());
  spdlog::info("hub listening on {}:{}, store {}, profiles {}, segments {}", config_.listen.host,
               server_->port(), pg::RedactUrl(config_.store_location()), config_.profiles_path, config_.segments_path);
  return Status::Ok();
}

void Hub::Stop() {
  if (server_) server_->Stop();
  if (workers_) workers_->Stop();  // before the APIs its jobs use go away
  if (planner_) planner_->Stop();
  if (eraser_) eraser_->Stop();  // before the ingestor it publishes through
  if (ingestor_) ingestor_->Stop();
  if (segments_) segments_->Stop();
  if (journeys_) journeys_->Stop();
  if (predictor_) predictor_->Stop();
  if (matcher_) matcher_->Stop();
  if (activation_) activation_->Stop();
  if (projector_) projector_->Stop();
  server_.reset();
  workers_.reset();
  api_.reset();
  privacy_api_.reset();
  eraser_.reset();
  segment_api_.reset();
  journey_api_.reset();
  prediction_api_.reset();
  predictor_.reset();
  identity_api_.reset();
  matcher_.reset();
  destination_api_.reset();
  activation_.reset();
  journeys_.reset();
  segments_.reset();
  offer_api_.reset();
  planner_.reset();
  profile_api_.reset();
  ingestor_.reset();
  projector_.reset();
}

}  // namespace cjd::hub
