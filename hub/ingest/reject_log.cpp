#include "hub/ingest/reject_log.h"

namespace cjd::hub {

RejectLog::Decision RejectLog::Admit(const std::string& reason, int64_t now_ms) {
  Decision d;
  auto [it, fresh] = windows_.try_emplace(reason);
  Window& w = it->second;
  if (fresh || now_ms - w.start_ms >= window_ms_) {
    d.suppressed = w.suppressed;
    w = Window{now_ms, 0, 0};
  }
  if (w.logged < per_window_) {
    ++w.logged;
    d.log = true;
  } else {
    ++w.suppressed;
  }
  return d;
}

std::vector<std::pair<std::string, int64_t>> RejectLog::TakeSummaries(int64_t now_ms) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (auto& [reason, w] : windows_) {
    if (w.suppressed > 0 && now_ms - w.start_ms >= window_ms_) {
      out.emplace_back(reason, w.suppressed);
      w.suppressed = 0;
    }
  }
  return out;
}

}  // namespace cjd::hub
