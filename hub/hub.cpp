#include "hub/hub.h"

#include <spdlog/spdlog.h>

#include "hub/store/sqlite_hub_store.h"

namespace cjd::hub {

Hub::Hub(HubConfig config, const Clock* clock) : config_(std::move(config)), clock_(clock) {}

Hub::~Hub() { Stop(); }

Status Hub::Start() {
  CJD_RETURN_IF_ERROR(InitCrypto());
  auto ingest_store = SqliteHubStore::Open(config_.store_path);
  if (!ingest_store.ok()) return ingest_store.status();
  auto api_store = SqliteHubStore::Open(config_.store_path);
  if (!api_store.ok()) return api_store.status();
  auto collect_store = SqliteHubStore::Open(config_.store_path);
  if (!collect_store.ok()) return collect_store.status();

  ingestor_ = std::make_unique<Ingestor>(config_, std::move(*ingest_store), clock_);
  api_ = std::make_unique<HubApi>(config_, std::move(*api_store), std::move(*collect_store),
                                  ingestor_.get(), clock_);
  if (on_events_committed_) {
    ingestor_->set_on_events_committed(on_events_committed_);
    api_->set_on_events_committed(on_events_committed_);
  }
  http::ServerOptions options;
  options.listen = config_.listen;
  options.threads = config_.http_threads;
  options.body_limit = static_cast<size_t>(config_.max_body_bytes);
  server_ = std::make_unique<http::Server>(
      options, [api = api_.get()](http::Request&& req, http::Responder respond) {
        api->Handle(std::move(req), std::move(respond));
      });
  CJD_RETURN_IF_ERROR(server_->Start());
  CJD_RETURN_IF_ERROR(ingestor_->Start());
  spdlog::info("hub listening on {}:{}, store {}", config_.listen.host, server_->port(),
               config_.store_path);
  return Status::Ok();
}

void Hub::Stop() {
  if (server_) server_->Stop();
  if (ingestor_) ingestor_->Stop();
  server_.reset();
  api_.reset();
  ingestor_.reset();
}

}  // namespace cjd::hub
