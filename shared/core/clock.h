// Clock behind an interface so tests can use a fake one (STYLE: leveldb's Env).
#pragma once

#include <atomic>
#include <cstdint>

namespace cjd {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock milliseconds since the Unix epoch (UTC).
  virtual int64_t NowMillis() const = 0;
  // The process-wide real clock. Never null; lives for the whole program.
  static const Clock* Real();
};

// A clock that tests set by hand. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'700'000'000'000) : now_(now_ms) {}
  int64_t NowMillis() const override { return now_.load(); }
  void Set(int64_t ms) { now_.store(ms); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace cjd
