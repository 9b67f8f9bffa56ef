#include "agent/agent.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "agent/outbox/outbox_recovery.h"

namespace cjd::agent {

Agent::Agent(AgentConfig config, const Clock* clock) : config_(std::move(config)), clock_(clock) {}

Agent::~Agent() { Stop(); }

Status Agent::Start() {
  CJD_RETURN_IF_ERROR(InitCrypto());
  auto keys = DeviceSessionKeys(config_.device_keys, config_.hub_public_key, config_.key_id);
  if (!keys.ok()) return keys.status();

  auto offers = OfferCache::Open(config_.offers_path,
                                 OfferCache::LookupKey(config_.device_keys.secret_key));
  if (!offers.ok()) return offers.status();
  offers_ = std::move(*offers);

  // A damaged outbox is moved aside and replaced by a fresh one (outbox_recovery.h).
  auto store = OpenOutboxRecovering(config_.outbox_path, clock_->NowMillis());
  if (!store.ok()) return store.status();
  auto reader = OutboxReader::Open(config_.outbox_path);
  if (!reader.ok()) return reader.status();
  writer_ = std::make_unique<OutboxWriter>(std::move(*store), config_.budget_bytes,
                                           config_.dedupe_window_hours * 3'600'000, clock_);
  {
    const std::filesystem::path dir = std::filesystem::path(config_.outbox_path).parent_path();
    writer_->SetTelemetryLimits(dir.empty() ? "." : dir.string(), config_.min_free_bytes);
  }
  writer_->Start();

  uplink_ = std::make_unique<Uplink>(config_, writer_.get(), std::move(*reader), *keys, clock_);
  uplink_->SetOfferCache(offers_.get());
  writer_->SetOnCommit([u = uplink_.get()](uint64_t last_seq, bool business) {
    u->WakeAfterCommit(last_seq, business);
  });
  CJD_RETURN_IF_ERROR(uplink_->Start());

  api_ = std::make_unique<AgentApi>(config_, writer_.get(), uplink_.get(), clock_, offers_.get());
  http::ServerOptions options;
  options.listen = config_.listen;
  options.threads = config_.http_threads;
  options.body_limit = static_cast<size_t>(config_.max_body_bytes);
  options.max_connections = static_cast<size_t>(config_.http_max_connections);
  options.header_timeout_ms = static_cast<int>(config_.http_header_timeout_ms);
  options.request_timeout_ms = static_cast<int>(config_.http_request_timeout_ms);
  options.request_metrics = api_->request_metrics();
  options.route_label = AgentRouteLabel;
  server_ = std::make_unique<http::Server>(
      options,
      [api = api_.get()](http::Request&& req, http::Responder respond) {
        api->Handle(std::move(req), std::move(respond));
      },
      [api = api_.get()](const http::Request& head) { return api->Authorize(head); });
  CJD_RETURN_IF_ERROR(server_->Start());
  const auto c = writer_->Stats().counters;
  spdlog::info("agent {} (store {}, {}) listening on {}:{}; outbox {} (epoch {}) holds {} events, "
               "last seq {}; offers version {}",
               config_.device_id, config_.store_id, config_.kind, config_.listen.host,
               server_->port(), config_.outbox_path, EpochHex(c.epoch), c.backlog, c.last_seq,
               offers_->applied_version());
  return Status::Ok();
}

void Agent::Stop() {
  if (server_) server_->Stop();
  if (writer_) writer_->Stop();
  if (uplink_) uplink_->Stop();
  server_.reset();
  api_.reset();
  uplink_.reset();
  writer_.reset();
  offers_.reset();
}

}  // namespace cjd::agent
