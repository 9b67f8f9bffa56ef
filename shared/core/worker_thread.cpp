#include "shared/core/worker_thread.h"

#include <utility>

#include "shared/core/thread_name.h"

namespace cjd {

void WorkerThread::Start(std::string name, std::function<void()> body) {
  {
    std::lock_guard lock(mu_);
    stop_.store(false, std::memory_order_release);
  }
  thread_ = std::thread([name = std::move(name), body = std::move(body)] {
    NameThisThread(name);
    body();
  });
}

bool WorkerThread::RequestStop() {
  bool first = false;
  {
    std::lock_guard lock(mu_);
    first = !stop_.exchange(true, std::memory_order_acq_rel);
  }
  cv_.notify_all();
  return first;
}

void WorkerThread::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cjd
