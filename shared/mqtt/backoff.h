// Reconnect backoff: exponential with full jitter, pure so it can be unit-tested.
#pragma once

#include <cstdint>

namespace cjd {

class Backoff {
 public:
  Backoff(int64_t min_ms, int64_t max_ms) : min_ms_(min_ms), max_ms_(max_ms), ceiling_ms_(min_ms) {}
  // The next delay for a `uniform01` in [0, 1): a value in [ceiling/2, ceiling], then the ceiling
  // doubles up to max_ms. Jitter keeps a whole store of agents from reconnecting in lockstep
  // after the broker returns.
  int64_t Next(double uniform01);
  void Reset() { ceiling_ms_ = min_ms_; }
  int64_t ceiling_ms() const { return ceiling_ms_; }

 private:
  int64_t min_ms_;
  int64_t max_ms_;
  int64_t ceiling_ms_;
};

}  // namespace cjd
