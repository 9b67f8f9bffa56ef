#include "hub/matching/dedupe.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "hub/matching/comparison.h"
#include "hub/matching/record_table.h"

namespace cjd::hub::matching {
namespace {

// splitmix64: a fixed, portable generator, so the random-pair sample is the same everywhere.
uint64_t Next(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Rows ordered by content (normalised field texts), ties (identical records) by row. Every
// order-dependent step uses this rank instead of the input position.
std::vector<uint32_t> ContentRank(const RecordTable& table) {
  std::vector<uint32_t> by_rank(table.size());
  std::iota(by_rank.begin(), by_rank.end(), 0u);
  std::stable_sort(by_rank.begin(), by_rank.end(), [&](uint32_t x, uint32_t y) {
    for (size_t f = 0; f < kFieldCount; ++f) {
      const Field field = static_cast<Field>(f);
      const int c = table.Text(field, table[x].value[f]).compare(table.Text(field, table[y].value[f]));
      if (c != 0) return c < 0;
    }
    return false;
  });
  std::vector<uint32_t> rank(table.size());
  for (uint32_t r = 0; r < by_rank.size(); ++r) rank[by_rank[r]] = r;
  return rank;
}

std::vector<ComparisonVector> RandomPairVectors(const RecordTable& table,
                                                const std::vector<uint32_t>& rank, size_t want,
                                                uint64_t seed) {
  const uint64_t n = table.size();
  std::vector<uint32_t> by_rank(n);
  for (uint32_t row = 0; row < n; ++row) by_rank[rank[row]] = row;
  std::vector<ComparisonVector> out;
  if (n * (n - 1) / 2 <= want) {
    for (uint32_t i = 0; i < n; ++i) {
      for (uint32_t j = i + 1; j < n; ++j) {
        out.push_back(Compare(table, table[by_rank[i]], table[by_rank[j]]));
      }
    }
    return out;
  }
  out.reserve(want);
  uint64_t state = seed;
  while (out.size() < want) {
    const uint64_t i = Next(&state) % n, j = Next(&state) % n;
    if (i == j) continue;
    const uint64_t lo = std::min(i, j), hi = std::max(i, j);
    out.push_back(Compare(table, table[by_rank[lo]], table[by_rank[hi]]));
  }
  return out;
}

}  // namespace

std::vector<Field> DefaultTermFrequencyFields() {
  return {Field::kFirstName,    Field::kLastName, Field::kStreetNumber, Field::kAddressLine1,
          Field::kAddressLine2, Field::kCity,     Field::kPostcode};
}

Result<DedupeResult> Deduplicate(const std::vector<Record>& records,
                                 const DedupeOptions& options) {
  if (records.size() > UINT32_MAX / 2) return Status::Invalid("too many records", "records");
  if (options.blocking_keys.empty()) {
    return Status::Invalid("no blocking keys", "blocking_keys");
  }
  if (options.threshold && !(*options.threshold > 0 && *options.threshold < 1)) {
    return Status::Invalid("threshold must be in (0, 1)", "threshold");
  }
  if (!(options.guard_probability > 0 && options.guard_probability < 1)) {
    return Status::Invalid("guard_probability must be in (0, 1)", "guard_probability");
  }
  DedupeResult result;
  DedupeStats& stats = result.stats;
  stats.records = records.size();
  for (const BlockingKey& k : options.blocking_keys) stats.blocking_keys.push_back(k.name);
  if (records.size() < 2) return result;  // nobody to pair: nothing matched

  RecordTable table;
  for (const Record& r : records) table.Add(r);
  const std::vector<uint32_t> rank = ContentRank(table);

  BlockingIndex index(options.blocking_keys, options.max_block_size);
  for (uint32_t row = 0; row < table.size(); ++row) index.Add(table, row);
  std::vector<std::pair<uint32_t, uint32_t>> candidates = index.AllPairs();
  stats.blocking = index.Stats();
  stats.candidate_pairs = candidates.size();
  if (candidates.empty()) return result;  // no two records share a key: nothing matched
  // Each pair is compared in content order, so a metric's tie-breaking never sees input order.
  for (auto& [a, b] : candidates) {
    if (rank[a] > rank[b]) std::swap(a, b);
  }
  std::vector<ComparisonVector> vectors;
  vectors.reserve(candidates.size());
  for (const auto& [a, b] : candidates) vectors.push_back(Compare(table, table[a], table[b]));

  const std::vector<ComparisonVector> random =
      RandomPairVectors(table, rank, options.random_pairs, options.seed);
  stats.random_pairs = random.size();
  Result<Model> fitted = FitEm(vectors, LevelShares(random), options.em, &stats.em);
  if (!fitted.ok()) return fitted.status();
  Model& model = result.model;
  model = std::move(*fitted);
  SetTermFrequencyReference(table, options.tf_fields, &model);
  model.threshold = options.threshold.value_or(0.5);
  stats.threshold = model.threshold;

  // probability >= t  <=>  logit(λ) + weight >= logit(t)
  auto weight_for = [&model](double p) {
    return std::log(p) - std::log1p(-p) - (std::log(model.lambda) - std::log1p(-model.lambda));
  };
  const double threshold_weight = weight_for(model.threshold);
  std::vector<ScoredPair> scored;
  scored.reserve(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    const auto [a, b] = candidates[i];
    scored.push_back({a, b, MatchWeight(model, table, table[a], table[b], vectors[i])});
  }
  if (options.keep_candidates) {
    result.candidates.reserve(scored.size());
    for (const ScoredPair& p : scored) {
      result.candidates.push_back(
          {{std::min(p.a, p.b), std::max(p.a, p.b)}, ProbabilityFromWeight(model, p.weight)});
    }
    std::sort(result.candidates.begin(), result.candidates.end());
  }
  // The compared pairs as sorted keys: membership by binary search, no hash set of millions.
  std::vector<uint64_t> compared;
  compared.reserve(candidates.size());
  for (const auto& [a, b] : candidates) {
    compared.push_back(uint64_t{std::min(a, b)} << 32 | std::max(a, b));
  }
  std::sort(compared.begin(), compared.end());
  auto direct = [&](uint32_t x, uint32_t y) {
    if (rank[x] > rank[y]) std::swap(x, y);
    return MatchWeight(model, table, table[x], table[y], Compare(table, table[x], table[y]));
  };
  result.clusters = ClusterPairs(table.size(), std::move(scored), rank, direct,
                                 {threshold_weight, options.chaining_guard,
                                  weight_for(options.guard_probability), options.max_cluster_size},
                                 &stats.clustering);
  for (const std::vector<uint32_t>& c : result.clusters) {
    for (size_t i = 0; i < c.size(); ++i) {
      for (size_t j = i + 1; j < c.size(); ++j) {
        const bool was =
            std::binary_search(compared.begin(), compared.end(), uint64_t{c[i]} << 32 | c[j]);
        result.pairs.push_back({c[i], c[j], ProbabilityFromWeight(model, direct(c[i], c[j])), was});
      }
    }
  }
  std::sort(result.pairs.begin(), result.pairs.end(),
            [](const MatchedPair& x, const MatchedPair& y) {
              return std::tie(x.a, x.b) < std::tie(y.a, y.b);
            });
  return result;
}

}  // namespace cjd::hub::matching
