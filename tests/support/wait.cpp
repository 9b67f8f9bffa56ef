#include "tests/support/wait.h"

#include <algorithm>
#include <thread>

namespace cjd::testing {

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  const auto step = std::max(poll, std::chrono::milliseconds(1));
  while (true) {
    if (pred()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(step, deadline - now));
    if (Clock::now() >= deadline) return pred();
  }
}

}  // namespace cjd::testing
