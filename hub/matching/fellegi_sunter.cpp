#include "hub/matching/fellegi_sunter.h"

#include <algorithm>
#include <cmath>

namespace cjd::hub::matching {
namespace {

constexpr double kMaxTfLog = 4.605170185988091;  // ln 100

struct Pattern {
  ComparisonVector levels;
  double count = 0;
};

uint64_t Encode(const ComparisonVector& v) {
  uint64_t key = 0;
  for (size_t i = 0; i < kFieldCount; ++i) key = key << 4 | static_cast<uint64_t>(v[i] + 1);
  return key;
}

// Distinct vectors with their counts, in a fixed order (by code) so the fit does not depend on
// the order of the pairs.
std::vector<Pattern> Aggregate(const std::vector<ComparisonVector>& vectors) {
  std::vector<std::pair<uint64_t, uint32_t>> keyed;
  keyed.reserve(vectors.size());
  for (uint32_t i = 0; i < vectors.size(); ++i) keyed.emplace_back(Encode(vectors[i]), i);
  std::sort(keyed.begin(), keyed.end());
  std::vector<Pattern> out;
  for (size_t i = 0; i < keyed.size();) {
    size_t j = i;
    while (j < keyed.size() && keyed[j].first == keyed[i].first) ++j;
    out.push_back({vectors[keyed[i].second], static_cast<double>(j - i)});
    i = j;
  }
  return out;
}

// Normalises per-level sums with one pseudo-count per level.
void Normalise(const std::array<std::array<double, kMaxLevels>, kFieldCount>& sums,
               std::array<FieldParams, kFieldCount>* params, bool m) {
  for (size_t f = 0; f < kFieldCount; ++f) {
    const int levels = LevelCount(static_cast<Field>(f));
    double total = 0;
    for (int l = 0; l < levels; ++l) total += sums[f][l] + 1.0;
    for (int l = 0; l < levels; ++l) {
      (m ? (*params)[f].m : (*params)[f].u)[l] = (sums[f][l] + 1.0) / total;
    }
  }
}

}  // namespace

std::array<std::array<double, kMaxLevels>, kFieldCount> LevelShares(
    const std::vector<ComparisonVector>& vectors) {
  std::array<std::array<double, kMaxLevels>, kFieldCount> sums{};
  for (const ComparisonVector& v : vectors) {
    for (size_t f = 0; f < kFieldCount; ++f) {
      if (v[f] != kMissing) sums[f][v[f]] += 1;
    }
  }
  std::array<FieldParams, kFieldCount> p{};
  Normalise(sums, &p, false);
  std::array<std::array<double, kMaxLevels>, kFieldCount> out{};
  for (size_t f = 0; f < kFieldCount; ++f) out[f] = p[f].u;
  return out;
}

Result<Model> FitEm(const std::vector<ComparisonVector>& candidates,
                    const std::array<std::array<double, kMaxLevels>, kFieldCount>& u_start,
                    const EmOptions& options, EmStats* stats) {
  if (candidates.empty()) return Status::Invalid("no candidate pairs to fit the model on");
  const std::vector<Pattern> patterns = Aggregate(candidates);
  Model model;
  model.lambda = options.initial_lambda;
  for (size_t f = 0; f < kFieldCount; ++f) {
    const int levels = LevelCount(static_cast<Field>(f));
    model.fields[f].u = u_start[f];
    // Start m with most mass on exact agreement, falling off by level: EM then labels the
    // component that agrees the match class.
    double total = 0;
    for (int l = 0; l < levels; ++l) total += model.fields[f].m[l] = std::pow(0.25, l);
    for (int l = 0; l < levels; ++l) model.fields[f].m[l] /= total;
  }
  EmStats local;
  std::vector<double> log_m(patterns.size()), log_u(patterns.size());
  for (int it = 1; it <= options.max_iterations; ++it) {
    std::array<std::array<double, kMaxLevels>, kFieldCount> m_sums{}, u_sums{};
    double matches = 0, total = 0, ll = 0;
    const double log_lambda = std::log(model.lambda), log_rest = std::log1p(-model.lambda);
    for (const Pattern& p : patterns) {
      double lm = log_lambda, lu = log_rest;
      for (size_t f = 0; f < kFieldCount; ++f) {
        if (p.levels[f] == kMissing) continue;
        lm += std::log(model.fields[f].m[p.levels[f]]);
        lu += std::log(model.fields[f].u[p.levels[f]]);
      }
      // Posterior of "match" in log space: the products underflow for 12 fields.
      const double hi = std::max(lm, lu);
      const double denom = hi + std::log(std::exp(lm - hi) + std::exp(lu - hi));
      const double g = std::exp(lm - denom);
      ll += p.count * denom;
      matches += p.count * g;
      total += p.count;
      for (size_t f = 0; f < kFieldCount; ++f) {
        if (p.levels[f] == kMissing) continue;
        m_sums[f][p.levels[f]] += p.count * g;
        u_sums[f][p.levels[f]] += p.count * (1 - g);
      }
    }
    const Model before = model;
    model.lambda = std::clamp(matches / total, 1e-9, 1 - 1e-9);
    Normalise(m_sums, &model.fields, true);
    if (options.learn_u) Normalise(u_sums, &model.fields, false);
    double moved = std::abs(model.lambda - before.lambda);
    for (size_t f = 0; f < kFieldCount; ++f) {
      for (int l = 0; l < kMaxLevels; ++l) {
        moved = std::max(moved, std::abs(model.fields[f].m[l] - before.fields[f].m[l]));
        moved = std::max(moved, std::abs(model.fields[f].u[l] - before.fields[f].u[l]));
      }
    }
    local.iterations = it;
    local.log_likelihood = ll;
    if (moved < options.tolerance) {
      local.converged = true;
      break;
    }
  }
  local.patterns = patterns.size();
  if (stats != nullptr) *stats = local;
  return model;
}

void SetTermFrequencyReference(const RecordTable& table, const std::vector<Field>& fields,
                               Model* model) {
  for (Field f : fields) {
    const FieldValues& v = table.values(f);
    if (v.non_missing == 0) continue;
    // Summed exactly (integers), so the result does not depend on the order values first came.
    // No overflow: sum c^2 <= (sum c)^2 = non_missing^2 < 2^62 (Deduplicate takes < 2^31 rows).
    uint64_t squares = 0;
    for (uint32_t c : v.count) squares += uint64_t{c} * c;
    const double n = static_cast<double>(v.non_missing);
    model->tf_reference[Index(f)] = static_cast<double>(squares) / (n * n);
  }
}

double TermFrequencyAdjustment(const Model& model, const RecordTable& table, Field f,
                               uint32_t value_id) {
  const double reference = model.tf_reference[Index(f)];
  if (reference <= 0 || value_id == 0) return 0;
  const FieldValues& v = table.values(f);
  const double p = static_cast<double>(v.count[value_id]) / static_cast<double>(v.non_missing);
  if (p <= 0) return 0;
  return std::clamp(std::log(reference / p), -kMaxTfLog, kMaxTfLog);
}

double MatchWeight(const Model& model, const RecordTable& table, const PreparedRecord& a,
                   const PreparedRecord& /*b*/, const ComparisonVector& levels) {
  double w = 0;
  for (size_t f = 0; f < kFieldCount; ++f) {
    const int8_t l = levels[f];
    if (l == kMissing) continue;
    w += std::log(model.fields[f].m[l] / model.fields[f].u[l]);
    if (l == 0 && model.tf_reference[f] > 0) {
      // Exact agreement on a rare value is stronger evidence than on a common one. Both
      // records carry the same value; the rarer spelling would matter only for fuzzy levels.
      w += TermFrequencyAdjustment(model, table, static_cast<Field>(f), a.value[f]);
    }
  }
  return w;
}

double ProbabilityFromWeight(const Model& model, double weight) {
  const double logit = std::log(model.lambda) - std::log1p(-model.lambda) + weight;
  return 1.0 / (1.0 + std::exp(-logit));
}

double MatchProbability(const Model& model, const RecordTable& table, const PreparedRecord& a,
                        const PreparedRecord& b) {
  return ProbabilityFromWeight(model, MatchWeight(model, table, a, b, Compare(table, a, b)));
}

}  // namespace cjd::hub::matching
