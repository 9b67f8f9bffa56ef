// WorkerThread: the loop skeleton every background thread uses. Real threads; no timing
// assertions (a lost wakeup shows as a Stop() that never returns, which ctest's timeout catches).
#include "shared/core/worker_thread.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace cjd {
namespace {

using namespace std::chrono_literals;

// The shape of the daemons' loops: a queue guarded by the worker's mutex, an hour-long wait.
class Collector {
 public:
  ~Collector() { worker_.Stop(); }
  void Start() { worker_.Start("collector", [this] { Run(); }); }
  void Stop() { worker_.Stop(); }
  void Submit(int v) {
    {
      std::lock_guard lock(worker_.mu());
      queue_.push_back(v);
    }
    worker_.Notify();
  }
  // Waits (on the caller's side) until `n` values were handled.
  std::vector<int> WaitForHandled(size_t n) {
    std::unique_lock lock(worker_.mu());
    handled_cv_.wait(lock, [&] { return handled_.size() >= n; });
    return handled_;
  }
  std::string name() {
    std::lock_guard lock(worker_.mu());
    return name_;
  }
  WorkerThread& worker() { return worker_; }

 private:
  void Run() {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    std::unique_lock lock(worker_.mu());
    name_ = name;
    while (true) {
      worker_.WaitFor(lock, 1h, [&] { return !queue_.empty(); });
      if (worker_.stopping()) return;
      std::deque<int> batch;
      batch.swap(queue_);
      lock.unlock();
      std::vector<int> done(batch.begin(), batch.end());  // the work, outside the lock
      lock.lock();
      handled_.insert(handled_.end(), done.begin(), done.end());
      handled_cv_.notify_all();
    }
  }

  std::deque<int> queue_;
  std::vector<int> handled_;
  std::string name_;
  std::condition_variable handled_cv_;
  WorkerThread worker_;
};

TEST(WorkerThreadTest, RunsTheBodyOnANamedThreadAndWakesOnNotify) {
  Collector c;
  c.Start();
  for (int i = 0; i < 100; ++i) c.Submit(i);
  const std::vector<int> handled = c.WaitForHandled(100);
  ASSERT_EQ(handled.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(handled[static_cast<size_t>(i)], i);
  EXPECT_EQ(c.name(), "collector");
  c.Stop();
  EXPECT_FALSE(c.worker().running());
  EXPECT_TRUE(c.worker().stopping());
}

TEST(WorkerThreadTest, StopAlwaysReachesALoopAboutToSleepForAnHour) {
  // Stop right after Start, a thousand times: the flag is set under the mutex, so the loop sees it
  // either before it sleeps or through the notify. A lost wakeup would hang here for an hour.
  for (int i = 0; i < 1000; ++i) {
    Collector c;
    c.Start();
    if (i % 2 == 0) c.Submit(i);
    c.Stop();
    EXPECT_FALSE(c.worker().running());
  }
}

TEST(WorkerThreadTest, StopIsIdempotentSafeWhenNeverStartedAndStartRunsAgain) {
  WorkerThread never;
  never.Stop();
  never.Stop();
  EXPECT_FALSE(never.running());

  Collector c;
  c.Start();
  c.Submit(1);
  c.WaitForHandled(1);
  c.Stop();
  c.Stop();
  c.Start();  // the stop flag is cleared: the loop serves again
  EXPECT_FALSE(c.worker().stopping());
  c.Submit(2);
  EXPECT_EQ(c.WaitForHandled(2), (std::vector<int>{1, 2}));
}

TEST(WorkerThreadTest, SleepForEndsEarlyOnStop) {
  WorkerThread w;
  bool slept = false;
  w.Start("sleeper", [&] {
    std::unique_lock lock(w.mu());
    w.SleepFor(lock, 1h);  // cut short by Stop below, or the test hangs
    slept = true;
  });
  w.Stop();
  EXPECT_TRUE(slept);
}

}  // namespace
}  // namespace cjd
