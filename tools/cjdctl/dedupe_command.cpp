#include "tools/cjdctl/dedupe_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string_view>

#include "hub/matching/comparison.h"
#include "hub/matching/dedupe.h"
#include "tools/cjdctl/import/csv_reader.h"

namespace cjd::ctl {
namespace {

namespace m = hub::matching;

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

// RFC 4180: quoted when it holds a comma, quote or line break.
std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string q = "\"";
  for (const char c : v) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

struct Mapping {
  std::vector<std::pair<m::Field, std::string>> columns;  // field -> column name
};

// "FIELD=COLUMN,..." -> the mapping; a usage error names the problem.
std::optional<Mapping> ParseMap(const std::string& text, std::string* why) {
  Mapping out;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = Trim(std::string_view(text).substr(at, comma - at));
    at = comma + 1;
    if (item.empty()) {
      if (comma >= text.size()) break;
      *why = "--map: an empty item (FIELD=COLUMN,...)";
      return std::nullopt;
    }
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      *why = "--map: '" + item + "' is not FIELD=COLUMN";
      return std::nullopt;
    }
    const std::string field = Trim(std::string_view(item).substr(0, eq));
    const std::string column = Trim(std::string_view(item).substr(eq + 1));
    const std::optional<m::Field> f = m::ParseField(field);
    if (!f) {
      std::string names;
      for (const std::string_view n : m::kFieldNames) names += (names.empty() ? "" : ", ") + std::string(n);
      *why = "--map: unknown field '" + field + "' (fields: " + names + ")";
      return std::nullopt;
    }
    for (const auto& [g, c] : out.columns) {
      if (g == *f) {
        *why = "--map: field " + field + " is mapped twice";
        return std::nullopt;
      }
    }
    out.columns.emplace_back(*f, column);
  }
  if (out.columns.empty()) {
    *why = "--map: map at least one field, e.g. first_name=given_name,last_name=surname";
    return std::nullopt;
  }
  return out;
}

// Writes `path` through `path.part`, renamed into place by Commit().
class OutFile {
 public:
  explicit OutFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".part") {
    file_.open(tmp_, std::ios::binary | std::ios::trunc);
  }
  ~OutFile() {
    if (!committed_) {
      file_.close();
      std::error_code ec;
      std::filesystem::remove(tmp_, ec);
    }
  }
  bool ok() const { return static_cast<bool>(file_); }
  std::ostream& stream() { return file_; }
  const std::string& tmp() const { return tmp_; }
  bool Commit(std::string* why) {
    file_.flush();
    if (!file_) {
      *why = "cannot write " + tmp_;
      return false;
    }
    file_.close();
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) {
      *why = "cannot rename " + tmp_ + ": " + ec.message();
      return false;
    }
    committed_ = true;
    return true;
  }

 private:
  std::string path_, tmp_;
  std::ofstream file_;
  bool committed_ = false;
};

}  // namespace

int RunDedupe(const DedupeCommandOptions& o, std::ostream& out, std::ostream& err) {
  (void)out;
  auto usage = [&](const std::string& message) {
    err << "cjdctl dedupe: " << message << '\n';
    return 2;
  };
  auto fail = [&](const std::string& message) {
    err << "cjdctl dedupe: " << message << '\n';
    return 1;
  };
  if (o.files.empty()) return usage("FILE: at least one CSV file");
  if (Trim(o.id).empty()) return usage("--id: the column that names each record is required");
  if (o.out.empty()) return usage("--out: the pairs file is required");
  m::DedupeOptions options;
  if (o.threshold != "auto") {
    char* end = nullptr;
    const double p = std::strtod(o.threshold.c_str(), &end);
    if (o.threshold.empty() || end == nullptr || *end != '\0' || !(p > 0 && p < 1)) {
      return usage("--threshold: '" + o.threshold + "' is not auto or a probability in (0, 1)");
    }
    options.threshold = p;
  }
  if (o.max_records < 2) return usage("--max-records: must be at least 2");
  {
    // Two outputs on one path would interleave; an output on an input would destroy it.
    std::error_code ec;
    auto same = [&](const std::string& a, const std::string& b) {
      return a == b || std::filesystem::equivalent(a, b, ec);
    };
    if (!o.clusters_out.empty() && same(o.out, o.clusters_out)) {
      return usage("--clusters-out: the same file as --out");
    }
    for (const std::string& f : o.files) {
      if (same(f, o.out)) return usage("--out: the same file as the input " + f);
      if (!o.clusters_out.empty() && same(f, o.clusters_out)) {
        return usage("--clusters-out: the same file as the input " + f);
      }
    }
  }
  std::string why;
  const std::optional<Mapping> mapping = ParseMap(o.map, &why);
  if (!mapping) return usage(why);
  const std::string id_column = Trim(o.id);

  // Read every file as one set of records.
  const auto started = std::chrono::steady_clock::now();
  std::vector<m::Record> records;
  for (const std::string& path : o.files) {
    import::CsvReader reader;
    if (Status st = reader.Open(path); !st.ok()) return fail(st.message());
    std::vector<std::string> header;
    for (const std::string& h : reader.header()) header.push_back(Trim(h));
    auto column = [&](const std::string& name) -> std::optional<size_t> {
      for (size_t i = 0; i < header.size(); ++i) {
        if (header[i] == name) return i;
      }
      return std::nullopt;
    };
    const std::optional<size_t> id_at = column(id_column);
    if (!id_at) return usage("--id: " + path + " has no column '" + id_column + "'");
    std::vector<std::pair<m::Field, size_t>> at;
    for (const auto& [field, name] : mapping->columns) {
      const std::optional<size_t> i = column(name);
      if (!i) {
        return usage("--map: " + path + " has no column '" + name + "' (for " +
                     std::string(m::FieldName(field)) + ")");
      }
      at.emplace_back(field, *i);
    }
    import::CsvRow row;
    while (true) {
      Result<bool> next = reader.Next(&row);
      if (!next.ok()) return fail(next.status().message());
      if (!*next) break;
      if (static_cast<int64_t>(records.size()) >= o.max_records) {
        return usage("--max-records: more than " + std::to_string(o.max_records) +
                     " records (raise it if the memory is there: ~1 KiB per record)");
      }
      m::Record r;
      auto value = [&](size_t i) { return i < row.fields.size() ? Trim(row.fields[i]) : std::string(); };
      r.id = value(*id_at);
      for (const auto& [field, i] : at) r[field] = value(i);
      records.push_back(std::move(r));
    }
  }
  const double read_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  {
    // Ids only name records; empty or repeated ones make the output ambiguous, not wrong.
    std::vector<std::string_view> ids;
    ids.reserve(records.size());
    size_t empty = 0;
    for (const m::Record& r : records) {
      if (r.id.empty()) ++empty;
      ids.push_back(r.id);
    }
    std::sort(ids.begin(), ids.end());
    size_t repeated = 0;
    for (size_t i = 1; i < ids.size(); ++i) repeated += !ids[i].empty() && ids[i] == ids[i - 1];
    if (empty > 0 || repeated > 0) {
      err << "cjdctl dedupe: warning: " << empty << " record(s) with an empty " << id_column
          << " and " << repeated << " repeated value(s) of it: pairs naming them are ambiguous\n";
    }
  }

  const auto matched_at = std::chrono::steady_clock::now();
  Result<m::DedupeResult> result = m::Deduplicate(records, options);
  if (!result.ok()) return fail("matching: " + result.status().message());
  const double match_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - matched_at).count();

  OutFile pairs(o.out);
  if (!pairs.ok()) return fail("--out: cannot write " + pairs.tmp());
  pairs.stream() << "id_a,id_b,probability\n";
  char prob[32];
  for (const m::MatchedPair& p : result->pairs) {
    std::snprintf(prob, sizeof prob, "%.6f", p.probability);
    pairs.stream() << CsvField(records[p.a].id) << ',' << CsvField(records[p.b].id) << ','
                   << prob << '\n';
  }
  std::optional<OutFile> clusters;
  if (!o.clusters_out.empty()) {
    clusters.emplace(o.clusters_out);
    if (!clusters->ok()) return fail("--clusters-out: cannot write " + clusters->tmp());
    clusters->stream() << "cluster,id\n";
    for (size_t c = 0; c < result->clusters.size(); ++c) {
      for (const uint32_t i : result->clusters[c]) {
        clusters->stream() << (c + 1) << ',' << CsvField(records[i].id) << '\n';
      }
    }
  }
  if (!pairs.Commit(&why)) return fail("--out: " + why);
  if (clusters && !clusters->Commit(&why)) return fail("--clusters-out: " + why);

  // What was done, on stderr.
  const m::DedupeStats& s = result->stats;
  char line[256];
  std::snprintf(line, sizeof line, "%zu records from %zu file(s) read in %.2f s; matched in %.2f s\n",
                records.size(), o.files.size(), read_s, match_s);
  err << "cjdctl dedupe: " << line;
  err << "  fields used:";
  for (const auto& [field, name] : mapping->columns) err << ' ' << m::FieldName(field) << '=' << name;
  err << '\n';
  err << "  blocking keys (" << s.blocking_keys.size() << "):";
  for (const std::string& k : s.blocking_keys) err << ' ' << k;
  err << '\n';
  std::snprintf(line, sizeof line,
                "  candidate pairs %zu (of %.0f possible); blocks %zu, oversized blocks skipped "
                "%zu (%zu records in them)\n",
                s.candidate_pairs,
                static_cast<double>(s.records) * static_cast<double>(s.records - 1) / 2,
                s.blocking.blocks, s.blocking.oversized_blocks, s.blocking.records_in_oversized);
  err << line;
  std::snprintf(line, sizeof line,
                "  model: EM %d iterations (%s), %zu distinct comparison vectors; lambda %.6f\n",
                s.em.iterations, s.em.converged ? "converged" : "NOT converged", s.em.patterns,
                result->model.lambda);
  err << line;
  err << "  weights (field level: m, u, ln(m/u)):\n";
  for (const auto& [field, name] : mapping->columns) {
    const m::FieldParams& fp = result->model.fields[m::Index(field)];
    err << "    " << m::FieldName(field) << ':';
    for (int level = 0; level < m::LevelCount(field); ++level) {
      const double mm = fp.m[static_cast<size_t>(level)], uu = fp.u[static_cast<size_t>(level)];
      std::snprintf(line, sizeof line, " %s m %.4f u %.6f w %+.2f;",
                    std::string(m::LevelName(field, level)).c_str(), mm, uu,
                    mm > 0 && uu > 0 ? std::log(mm / uu) : 0.0);
      err << line;
    }
    err << '\n';
  }
  std::snprintf(line, sizeof line,
                "  threshold %.6f (%s); %zu links, %zu clusters, %zu pairs written to %s\n",
                s.threshold, options.threshold ? "--threshold" : "auto: P(match) >= 0.5 under the fitted mixture",
                s.clustering.links, result->clusters.size(), result->pairs.size(), o.out.c_str());
  err << line;
  if (s.candidate_pairs == 0) {
    err << "  no two records share a blocking key: nothing to compare, nothing matched\n";
  }
  if (s.clustering.refused_oversize > 0) {
    err << "  cluster size limit: " << s.clustering.refused_oversize
        << " joins refused (a cluster would have passed " << options.max_cluster_size
        << " records: chained or degenerate input)\n";
  }
  if (s.clustering.refused_merges > 0) {
    err << "  chaining guard: " << s.clustering.refused_merges
        << " joins refused (a record in each cluster is a clear non-match of the other)\n";
  }
  return 0;
}

}  // namespace cjd::ctl
