#include "shared/mqtt/backoff.h"

#include <algorithm>

namespace cjd {

int64_t Backoff::Next(double uniform01) {
  uniform01 = std::clamp(uniform01, 0.0, 1.0);
  const int64_t half = ceiling_ms_ / 2;
  const int64_t delay = half + static_cast<int64_t>(static_cast<double>(ceiling_ms_ - half) * uniform01);
  ceiling_ms_ = std::min(max_ms_, ceiling_ms_ * 2);
  return delay;
}

}  // namespace cjd
