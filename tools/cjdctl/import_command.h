// `cjdctl import FILE... --hub URL --token KEY --map FIELD=COLUMN,... [--currency CODE]
//  [--timezone ZONE] [--source NAME]`: reads order files with the import core
// (tools/cjdctl/import/) and posts the order_completed events to the hub's POST /v1/collect.
//
// Pipeline: this thread reads and assembles; events are packed into batches (batch_events or
// batch_bytes, whichever comes first) that `parallel` sender threads (one keep-alive connection
// each) post through CollectPoster (retries, one-bad-event-at-a-time re-sends; see
// collect_poster.h). At most parallel + 1 batches wait, so memory stays bounded.
//
// Output: progress lines on `err` (every progress_interval, unless quiet); bad rows and orders the
// hub rejected on `err` as they come (the first max_reported of each, then a count); a summary
// on `out` at the end (also after a fatal error, saying how far it got).
//
// Exit codes: 0 every row read and every event stored; 1 some rows or orders failed (everything
// else was still imported) or the import stopped (hub unreachable after retries, key refused,
// unexpected answer); 2 usage errors, found before anything is sent (bad options, a file that
// cannot be opened, a header that does not fit --map).
#pragma once

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

#include "tools/cjdctl/collect_poster.h"

namespace cjd::ctl {

struct ImportCommandOptions {
  std::vector<std::string> files;
  std::string hub;    // http://HOST:PORT
  std::string token;  // a source key
  std::string token_file;  // --token-file (resolved by the CLI layer, token_option.h)
  std::string map;    // --map text
  std::string currency;
  std::string timezone;
  std::string source = "import";

  size_t batch_events = 500;     // 1..10,000 (the hub's limit)
  size_t batch_bytes = 1 << 20;  // a batch is closed before it passes this (one event may)
  int parallel = 2;              // requests in flight, 1..4
  bool quiet = false;            // no progress lines (bad rows and the summary still print)
  size_t max_reported = 100;     // bad rows / rejected orders printed one by one
  RetryPolicy retry;
  std::chrono::milliseconds request_timeout{60'000};
  std::chrono::milliseconds progress_interval{2'000};
  std::string zoneinfo_dir;  // empty: $TZDIR or /usr/share/zoneinfo
};

// Runs the import; returns the exit code (0, 1 or 2 as above).
int RunImport(const ImportCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cjd::ctl
