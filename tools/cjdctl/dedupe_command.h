// `cjdctl dedupe`: probabilistic record linkage of person records in CSV files, offline (no hub).
//
//   cjdctl dedupe FILE.csv [FILE2.csv ...] --map FIELD=COLUMN,... --id COLUMN --out pairs.csv
//                 [--clusters-out clusters.csv] [--threshold auto|P]
//
// The files are read as one set of records (.csv or .csv.gz, RFC 4180, a header line; values
// and column names are trimmed of surrounding spaces). FIELD is one of the matcher's fields
// (hub/matching/fields.h: first_name, last_name, date_of_birth, street_number, address_line1,
// address_line2, city, postcode, region, national_id, email, phone); each file must have every
// mapped column and the --id column. The id only names a record in the output: it never
// influences matching.
//
// Output: --out gets `id_a,id_b,probability` (a header line, then every pair within every
// cluster: a cluster of n records gives its n(n-1)/2 pairs; probability = the model's P(match)
// for the two records, 6 decimals). --clusters-out gets `cluster,id` (clusters numbered from 1,
// records of 2+ only). Both are written beside and renamed into place at the end. stderr gets
// the blocking figures (records, blocking keys, candidate pairs, oversized blocks), the fitted
// model (λ, m and u and the match weight per field and level) and the threshold.
//
// Empty or repeated ids are reported (a warning: the pairs naming them are ambiguous); --out,
// --clusters-out and the inputs must be different files. At most --max-records records (memory
// grows ~1 KiB per record). No candidate pair (nobody shares a blocking key) is an empty result:
// header-only files, exit 0.
//
// Exit codes: 0 done; 1 a file could not be read or written, or matching failed; 2 usage errors
// (each names its flag, field or column).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace cjd::ctl {

struct DedupeCommandOptions {
  std::vector<std::string> files;
  std::string map;        // FIELD=COLUMN,...
  std::string id;         // the id column
  std::string out;        // pairs.csv
  std::string clusters_out;
  std::string threshold = "auto";  // auto or a probability in (0, 1)
  int64_t max_records = 2'000'000;  // more: a usage error (memory: ~1 KiB per record)
};

int RunDedupe(const DedupeCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cjd::ctl
