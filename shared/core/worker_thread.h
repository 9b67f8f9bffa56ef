// WorkerThread: the skeleton of every background loop in the agent and the hub. One named thread,
// the mutex that guards its owner's queue and flags, the condition variable the loop sleeps on,
// and a stop flag set under that mutex, so a loop that is about to sleep never misses a Stop() or
// a Notify() (a flag set without the mutex can slip in between the loop's check and its sleep,
// and the stop then waits for the sleep's timeout).
//
//   class Writer {
//    public:
//     void Start() { worker_.Start("writer", [this] { Run(); }); }
//     void Stop() { worker_.Stop(); }
//     void Submit(Request r) {
//       { std::lock_guard lock(worker_.mu()); queue_.push_back(std::move(r)); }
//       worker_.Notify();
//     }
//    private:
//     void Run() {
//       std::unique_lock lock(worker_.mu());
//       while (true) {
//         worker_.WaitFor(lock, std::chrono::seconds(60), [&] { return !queue_.empty(); });
//         if (worker_.stopping()) return;
//         ... take the queue, unlock, work, lock ...
//       }
//     }
//     std::deque<Request> queue_;  // guarded by worker_.mu()
//     WorkerThread worker_;
//   };
//
// The owner's destructor calls Stop() (the WorkerThread's own destructor joins too, but by then
// the owner's other members may be gone).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace cjd {

class WorkerThread {
 public:
  WorkerThread() = default;
  ~WorkerThread() { Stop(); }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Clears the stop flag and runs `body` on a new thread named `name` (NameThisThread). Not
  // while a thread runs.
  void Start(std::string name, std::function<void()> body);
  // Sets the stop flag (under mu()), wakes the loop and joins it. Idempotent; safe when never
  // started. Never from the worker thread itself.
  void Stop();
  // Sets the stop flag and wakes the loop without joining; Stop() joins. True when this call set
  // the flag (the first since Start), for owners whose own stop must run once.
  bool RequestStop();

  bool running() const { return thread_.joinable(); }
  // True once Stop() or RequestStop() was called (until the next Start). Exact under mu().
  bool stopping() const { return stop_.load(std::memory_order_acquire); }

  // The mutex the owner guards its work state with; the waits below take a lock on it.
  std::mutex& mu() const { return mu_; }
  // Wakes the loop. Call after changing the state its wait checks (under mu() or after it).
  void Notify() { cv_.notify_all(); }

  // With `lock` held on mu(): sleeps until `ready()` holds, the stop flag is set, or the time is
  // up. `ready` runs under the lock.
  template <class Rep, class Period, class Ready>
  void WaitFor(std::unique_lock<std::mutex>& lock, std::chrono::duration<Rep, Period> timeout,
               Ready ready) {
    cv_.wait_for(lock, timeout, [&] { return stopping() || ready(); });
  }
  template <class Clock, class Duration, class Ready>
  void WaitUntil(std::unique_lock<std::mutex>& lock,
                 std::chrono::time_point<Clock, Duration> deadline, Ready ready) {
    cv_.wait_until(lock, deadline, [&] { return stopping() || ready(); });
  }
  template <class Ready>
  void Wait(std::unique_lock<std::mutex>& lock, Ready ready) {
    cv_.wait(lock, [&] { return stopping() || ready(); });
  }
  // Sleeps for `timeout` unless stopped first (a back-off that Stop() cuts short).
  template <class Rep, class Period>
  void SleepFor(std::unique_lock<std::mutex>& lock, std::chrono::duration<Rep, Period> timeout) {
    WaitFor(lock, timeout, [] { return false; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cjd
