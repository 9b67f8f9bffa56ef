// `cjdctl segments ...`: the hub's segments over HTTP (admin token).
//
//   segments list   --hub URL --token T [--json]       GET /v1/segments as a table
//   segments create ID RULE --hub URL --token T [--name N] [--description D]
//                                                      POST /v1/segments
//   segments export ID --format csv|jsonl --hub URL --token T [--out FILE] [--page-size N]
//                                                      every member, paged through
//                                                      GET /v1/segments/ID/members
//
// Export writes profile ids only (no identifiers, no PII): csv has the header
// `profile_id,segment,since` then one line per member; jsonl one object per line,
// {"profile_id":12,"segment":"lapsed","since":"2026-11-20T10:00:00.000Z"}. Members come in
// ascending profile id. With --out the file is written beside and renamed into place at the end,
// so a failed export leaves no partial file.
// Exit codes (as `cjdctl report`): 0 done; 1 the hub answered non-2xx (its error is printed), could
// not be reached, sent something unexpected, or the output could not be written; 2 usage errors.
#pragma once

#include <iosfwd>
#include <string>

namespace cjd::ctl {

struct SegmentsOptions {
  std::string hub;    // http://HOST:PORT
  std::string token;  // the hub's admin token
  std::string token_file;  // --token-file (resolved by the CLI layer, token_option.h)
  int timeout_ms = 60'000;
  // create / export
  std::string id;
  // create
  std::string rule, name, description;
  // export
  std::string format;  // "csv" or "jsonl"
  std::string out;     // empty: stdout
  int page_size = 1000;
  // list
  bool json = false;
};

int RunSegmentsList(const SegmentsOptions& options, std::ostream& out, std::ostream& err);
int RunSegmentsCreate(const SegmentsOptions& options, std::ostream& out, std::ostream& err);
int RunSegmentsExport(const SegmentsOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cjd::ctl
