// cjd-bench dedupe: `cjdctl dedupe` on N generated FEBRL-like person records (issue 15's speed
// aim: 100,000 records in under 10 s), next to the matcher called in-process on the same
// records in the same run (the library alone: no CSV reading or writing, no process start).
//
// Data (tests/hub/matching/generated_people.h, deterministic): 60 % originals with names,
// address, date of birth and a 7-digit id from vocabularies of a few thousand values each, the
// rest corrupted duplicates (typos, swaps, missing values; 1-5 per original). Written to one CSV
// in a temporary folder (not timed). The generator's truth scores each run (precision, recall,
// F1, blocking recall in-process), so a fast wrong answer shows.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "hub/matching/dedupe.h"
#include "tests/bench/benchmarks.h"
#include "tests/bench/common.h"
#include "tests/hub/matching/generated_people.h"
#include "tests/support/binaries.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace cjd::bench {
namespace {

namespace m = hub::matching;

std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string q = "\"";
  for (const char c : v) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

struct Score {
  double precision = 0, recall = 0, f1 = 0;
};

Score ScorePairs(const std::set<std::pair<uint32_t, uint32_t>>& truth,
                 const std::vector<std::pair<uint32_t, uint32_t>>& found) {
  size_t correct = 0;
  for (const auto& p : found) correct += truth.count(std::minmax(p.first, p.second));
  Score s;
  s.precision = found.empty() ? 1 : static_cast<double>(correct) / static_cast<double>(found.size());
  s.recall = truth.empty() ? 1 : static_cast<double>(correct) / static_cast<double>(truth.size());
  s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
  return s;
}

}  // namespace

void RunDedupe(const DedupeBenchOptions& o) {
  Out("\n== dedupe: cjdctl dedupe on %" PRId64 " generated FEBRL-like records ==\n", o.records);
  Out("  started %s; machine: %s\n", NowUtc().c_str(), LoadNow().c_str());
  const auto t0 = SteadyClock::now();
  auto [records, entity] = m::generated::GeneratePeople(static_cast<size_t>(o.records), 42);
  std::set<std::pair<uint32_t, uint32_t>> truth;
  {
    std::vector<std::vector<uint32_t>> by(records.size());
    for (uint32_t i = 0; i < records.size(); ++i) by[entity[i]].push_back(i);
    for (const auto& rows : by) {
      for (size_t i = 0; i < rows.size(); ++i) {
        for (size_t j = i + 1; j < rows.size(); ++j) truth.insert({rows[i], rows[j]});
      }
    }
  }
  cjd::testing::TempDir dir("cjd-bench-dedupe-");
  const std::string csv = dir.Join("people.csv").string();
  {
    std::ofstream f(csv);
    f << "rec";
    for (const std::string_view n : m::kFieldNames) f << ',' << n;
    f << '\n';
    for (uint32_t i = 0; i < records.size(); ++i) {
      f << "r" << i;  // the row index: the generator's own ids would give the truth away
      for (const std::string& v : records[i].fields) f << ',' << CsvField(v);
      f << '\n';
    }
  }
  Out("  generated %zu records (%zu true pairs) and wrote %s in %.1f s (not timed)\n",
      records.size(), truth.size(), csv.c_str(), SecondsSince(t0));
  std::string map;
  for (const std::string_view n : m::kFieldNames) {
    if (n == "email" || n == "phone") continue;  // the generator leaves them empty
    map += (map.empty() ? "" : ",") + std::string(n) + "=" + std::string(n);
  }

  std::vector<double> cli_s, lib_s;
  for (int run = 0; run < o.runs; ++run) {
    CheckInterrupted();
    // The command line, as a user runs it.
    const std::string pairs = dir.Join("pairs.csv").string();
    std::string output;
    auto t = SteadyClock::now();
    const int rc = cjd::testing::RunCommand(
        {cjd::testing::CjdctlBinary(), "dedupe", csv, "--map", map, "--id", "rec", "--out", pairs},
        std::chrono::seconds(static_cast<int64_t>(o.timeout_s)), &output);
    const double cli = SecondsSince(t);
    if (rc != 0) {
      Out("  run %d: cjdctl dedupe exited %d:\n%s\n", run + 1, rc, output.c_str());
      return;
    }
    std::vector<std::pair<uint32_t, uint32_t>> found;
    {
      std::ifstream in(pairs);
      std::string line;
      std::getline(in, line);  // header
      while (std::getline(in, line)) {
        const size_t a = line.find(','), b = line.find(',', a + 1);
        found.emplace_back(static_cast<uint32_t>(std::stoul(line.substr(1, a - 1))),
                           static_cast<uint32_t>(std::stoul(line.substr(a + 2, b - a - 2))));
      }
    }
    const Score cs = ScorePairs(truth, found);
    // The library alone, same records.
    m::DedupeOptions options;
    options.keep_candidates = true;
    t = SteadyClock::now();
    const auto lib = m::Deduplicate(records, options);
    const double lib_time = SecondsSince(t);
    if (!lib.ok()) {
      Out("  run %d: Deduplicate failed: %s\n", run + 1, lib.status().ToString().c_str());
      return;
    }
    size_t kept = 0;
    for (const auto& [pair, p] : lib->candidates) kept += truth.count(pair);
    cli_s.push_back(cli);
    lib_s.push_back(lib_time);
    Out("  run %d: cjdctl dedupe %.2f s (%zu pairs: precision %.4f recall %.4f F1 %.4f); "
        "in-process %.2f s (candidate pairs %zu, blocking recall %.4f, oversized blocks %zu); "
        "machine: %s\n",
        run + 1, cli, found.size(), cs.precision, cs.recall, cs.f1, lib_time,
        lib->stats.candidate_pairs, static_cast<double>(kept) / static_cast<double>(truth.size()),
        lib->stats.blocking.oversized_blocks, LoadNow().c_str());
  }
  if (cli_s.empty()) return;
  const double cli_median = Median(cli_s), lib_median = Median(lib_s);
  Out("  median: cjdctl dedupe %.2f s, in-process %.2f s (%.2fx); aim (issue 15): %" PRId64
      " records under 10 s: %s\n",
      cli_median, lib_median, cli_median / lib_median, o.records,
      o.records >= 100'000 && cli_median < 10 ? "met here"
      : cli_median < 10                         ? "met at this size (fewer than 100,000)"
                                                : "NOT met here");
  Out("  machine: %s\n", LoadNow().c_str());
}

}  // namespace cjd::bench
