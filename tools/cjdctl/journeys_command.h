// The journey questions as tables (hub/journeys/README.md has the definitions):
//
//   cjdctl funnel --hub URL --token T --step TYPE[:KEY=VALUE,...] --step ... [--order
//     sequential|strict|any] [--window-days N] [--count-by person|session] [--from D] [--to D]
//     [--breakdown channel|store|segment] [--segment ID] [--json]
//       POST /v1/funnels/query; one row per step (count, conversion from the previous and the
//       first step, drop-off, median and p90 seconds to convert), then per breakdown value.
//   cjdctl report web --hub URL --token T [--from D] [--to D] [--channel C] [--store S]
//     [--segment ID] [--json]
//       GET /v1/metrics/web; the figures, then the daily series.
//
// Exit codes as `cjdctl report`: 0 printed; 1 the hub answered non-2xx (its error, with the field,
// is printed) or could not be reached; 2 usage errors.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/core/status.h"

namespace cjd::ctl {

struct FunnelOptions {
  std::string hub, token, token_file;
  std::vector<std::string> steps;  // TYPE[:KEY=VALUE,...]
  std::string order, count_by, from, to, breakdown, segment;
  int window_days = 0;  // 0: the hub's default
  bool json = false;
  int timeout_ms = 120'000;
};

struct WebReportOptions {
  std::string hub, token, token_file;
  std::string from, to, channel, store, segment;
  bool json = false;
  int timeout_ms = 120'000;
};

// The request body of `options`; kInvalid naming the flag ("--step 2: ...").
Result<nlohmann::json> FunnelBody(const FunnelOptions& options);
void RenderWebReport(const nlohmann::json& answer, std::ostream& out);

int RunFunnel(const FunnelOptions& options, std::ostream& out, std::ostream& err);
int RunWebReport(const WebReportOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cjd::ctl
