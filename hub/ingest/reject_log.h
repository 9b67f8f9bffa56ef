// RejectLog: bounds the log lines hostile traffic can cause. Per reason, the first
// `per_window` rejections of each window are logged in full; the rest are only counted, and one
// summary line per reason reports how many were suppressed once the window is over (10,000
// garbage frames give 10 warnings and one summary, not 10,000 warnings). The counters in
// GET /v1/stats still count every rejection. Pure: the caller passes the time and does the logging.
// Not thread-safe (the ingest thread owns it).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cjd::hub {

class RejectLog {
 public:
  explicit RejectLog(int64_t per_window = 10, int64_t window_ms = 60'000)
      : per_window_(per_window), window_ms_(window_ms) {}

  struct Decision {
    bool log = false;          // log this rejection in full
    int64_t suppressed = 0;    // > 0: first report this many suppressed in the last window
  };
  // One rejection for `reason` at `now_ms`.
  Decision Admit(const std::string& reason, int64_t now_ms);
  // (reason, suppressed count) of every window over by `now_ms` that suppressed lines; each is
  // returned once. Call it now and then (the ingest thread wakes at least every second).
  std::vector<std::pair<std::string, int64_t>> TakeSummaries(int64_t now_ms);

 private:
  struct Window {
    int64_t start_ms = 0;
    int64_t logged = 0;
    int64_t suppressed = 0;
  };
  const int64_t per_window_;
  const int64_t window_ms_;
  std::map<std::string, Window> windows_;  // one per reason: a handful of entries
};

}  // namespace cjd::hub
