#include "shared/core/clock.h"

#include <chrono>

namespace cjd {
namespace {
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};
}  // namespace

const Clock* Clock::Real() {
  static const SystemClock clock;
  return &clock;
}
}  // namespace cjd
