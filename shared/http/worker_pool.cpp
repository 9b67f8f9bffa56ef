#include "shared/http/worker_pool.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <utility>

namespace cjd::http {

WorkerPool::WorkerPool(int threads) : pool_(static_cast<size_t>(std::max(1, threads))) {}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Post(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  boost::asio::post(pool_, std::move(job));
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  pool_.stop();
  pool_.join();
}

Handler OffloadTo(WorkerPool* pool, Handler handler,
                  std::function<bool(const Request&)> inline_if) {
  auto shared = std::make_shared<Handler>(std::move(handler));
  return [pool, shared, inline_if = std::move(inline_if)](Request&& req, Responder respond) {
    if (inline_if && inline_if(req)) return (*shared)(std::move(req), std::move(respond));
    pool->Post([shared, req = std::move(req), respond = std::move(respond)]() mutable {
      try {
        (*shared)(std::move(req), respond);
      } catch (const std::exception& e) {
        respond(JsonError(500, "internal", std::string("handler failed: ") + e.what()));
      } catch (...) {
        respond(JsonError(500, "internal", "handler failed"));
      }
    });
  };
}

}  // namespace cjd::http
