// `cjdctl report --hub URL --token ADMIN_TOKEN [--from DATE] [--to DATE] [--store ID]
//  [--channel NAME] [--currency CODE] [--top N] [--json]`: GET /v1/metrics from the hub and print
// it as aligned tables (summary, store totals, monthly series, top customers), or with --json the
// hub's JSON unchanged.
//
// Money fields are the hub's decimal strings, printed as given (never through a double); ratios
// are JSON numbers, printed with 2 to 4 decimals; null and absent values print as "-".
// Exit codes: 0 printed; 1 the hub answered non-2xx (its error message is printed), could not be
// reached, or sent something that is not a metrics object; 2 usage errors (bad flags).
#pragma once

#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "shared/core/status.h"

namespace cjd::ctl {

struct ReportOptions {
  std::string hub;    // http://HOST:PORT
  std::string token;  // the hub's admin token
  std::string token_file;  // --token-file (resolved by the CLI layer, token_option.h)
  std::string from, to;  // YYYY-MM-DD or YYYY-MM, half-open [from, to)
  std::string store, channel, currency;
  int top = 0;  // 0: the hub's default
  bool json = false;
  int timeout_ms = 60'000;
};

// The /metrics?... target for `options` (values percent-encoded; empty ones left out).
std::string MetricsTarget(const ReportOptions& options);

// Renders a metrics document (parsed with ParseJsonExact, so numbers keep their text) as the
// tables described above. Fails only if `metrics` is not a JSON object.
Status RenderReport(const nlohmann::json& metrics, std::ostream& out);

int RunReport(const ReportOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cjd::ctl
