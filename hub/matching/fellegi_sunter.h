// The Fellegi–Sunter model: for each field and agreement level, m = P(level | match) and
// u = P(level | non-match); a pair's Bayes factor is the product of m/u over its non-missing
// fields (conditional independence), its match probability the posterior
//   P(match | vector) = λ BF / (λ BF + 1 - λ)
// with λ the prior share of matches among the candidate pairs. All fitted without labels:
//   u   starts from random record pairs (EstimateU: almost all random pairs are non-matches);
//   m, λ (and, by default, u again) by EM on the candidate pairs' comparison vectors, a
//       two-class mixture with conditionally independent fields (FitEm);
//   TF  exact agreement on a value is reweighted by its frequency (TermFrequencyAdjustment).
// The formulas are in hub/matching/README.md. Pure functions; a fitted Model is immutable and
// can score single pairs from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "hub/matching/comparison.h"
#include "hub/matching/fields.h"
#include "hub/matching/record_table.h"
#include "shared/core/status.h"

namespace cjd::hub::matching {

struct FieldParams {
  std::array<double, kMaxLevels> m{}, u{};  // per level; levels past LevelCount are 0
};

struct Model {
  double lambda = 0;  // prior P(match) among candidate pairs
  std::array<FieldParams, kFieldCount> fields{};
  // Per field: sum over values v of p(v)^2, the chance two random records agree exactly, the
  // reference the TF adjustment compares a value's frequency with; 0 = no TF adjustment.
  std::array<double, kFieldCount> tf_reference{};
  double threshold = 0.5;  // on the match probability: a pair matches iff probability >= it
};

// P(level) per field over comparison vectors (missing entries skipped), with one pseudo-count
// per level so no level is ever impossible.
std::array<std::array<double, kMaxLevels>, kFieldCount> LevelShares(
    const std::vector<ComparisonVector>& vectors);

struct EmOptions {
  int max_iterations = 500;
  double tolerance = 1e-9;  // stop when no parameter moves by more than this
  bool learn_u = true;      // false: u stays at its start (the random-pair estimate)
  double initial_lambda = 0.1;
};

struct EmStats {
  int iterations = 0;
  bool converged = false;
  size_t patterns = 0;        // distinct comparison vectors
  double log_likelihood = 0;  // of the candidate vectors under the fitted mixture
};

// Fits λ, m (and u unless !learn_u) to the candidate vectors, u starting at `u_start` and m at a
// profile where level 0 is most likely. Invalid for no vectors.
Result<Model> FitEm(const std::vector<ComparisonVector>& candidates,
                    const std::array<std::array<double, kMaxLevels>, kFieldCount>& u_start,
                    const EmOptions& options, EmStats* stats);

// Fills model->tf_reference for the fields in `fields` from the table's value counts.
void SetTermFrequencyReference(const RecordTable& table, const std::vector<Field>& fields,
                               Model* model);

// ln(tf_reference / p(v)) for an exact agreement on value `value_id` of field f, clamped to
// ±ln 100; 0 when f has no TF adjustment. p(v) = records with v / records with the field.
double TermFrequencyAdjustment(const Model& model, const RecordTable& table, Field f,
                               uint32_t value_id);

// ln of the pair's Bayes factor (TF-adjusted), the match weight.
double MatchWeight(const Model& model, const RecordTable& table, const PreparedRecord& a,
                   const PreparedRecord& b, const ComparisonVector& levels);

// P(match | the pair's comparison vector), TF-adjusted: the model applied to one pair.
double MatchProbability(const Model& model, const RecordTable& table, const PreparedRecord& a,
                        const PreparedRecord& b);
double ProbabilityFromWeight(const Model& model, double weight);

}  // namespace cjd::hub::matching
