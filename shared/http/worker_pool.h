// Threads for handler work that may block (a database transaction, a long query), so that the
// server's I/O threads stay free to read, write and answer quick requests such as /healthz while
// one request waits for the database. Slow clients never hold a thread: reading and writing are
// asynchronous on the I/O threads.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <functional>
#include <memory>
#include <mutex>

#include "shared/http/server.h"

namespace cjd::http {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();  // Stop()s
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `job` on one of the pool's threads. Thread: any. After Stop() the job is dropped
  // (a dropped Responder answers 500 if its server still runs).
  void Post(std::function<void()> job);
  // Waits for the running jobs, drops the queued ones, joins the threads. Idempotent.
  void Stop();

 private:
  std::mutex mu_;
  bool stopped_ = false;  // GUARDED_BY(mu_)
  boost::asio::thread_pool pool_;
};

// A Handler that runs `handler` on `pool` for every request but those `inline_if` accepts, which
// it answers on the I/O thread (quick ones: /healthz). `pool` must outlive the server.
Handler OffloadTo(WorkerPool* pool, Handler handler,
                  std::function<bool(const Request&)> inline_if);

}  // namespace cjd::http
