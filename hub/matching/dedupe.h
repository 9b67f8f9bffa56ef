// Deduplication of a set of person records: the whole pipeline, as one pure function.
//
//   normalise + intern (RecordTable) -> block on several keys (BlockingIndex) -> compare each
//   candidate pair (Compare) -> estimate u on random pairs, fit m, u, λ by EM on the candidate
//   vectors (FitEm) -> score every candidate pair with TF adjustment (MatchWeight) -> threshold
//   -> cluster (ClusterPairs) -> every pair within each cluster with its probability.
//
// Labels are never used: record ids are not read at all, and the result does not depend on the
// order of the records (ties are broken by record content). hub/matching/README.md documents
// every definition and the figures measured on the FEBRL benchmark.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hub/matching/blocking.h"
#include "hub/matching/cluster.h"
#include "hub/matching/fellegi_sunter.h"
#include "hub/matching/fields.h"
#include "hub/matching/record.h"
#include "shared/core/status.h"

namespace cjd::hub::matching {

// first_name, last_name, street_number, address_line1, address_line2, city, postcode.
std::vector<Field> DefaultTermFrequencyFields();

struct DedupeOptions {
  std::vector<BlockingKey> blocking_keys = DefaultBlockingKeys();
  size_t max_block_size = 100;     // blocks above it are skipped for their key (blocking.h)
  size_t random_pairs = 200000;    // for the starting u; all pairs when there are fewer
  uint64_t seed = 0x5eed0f5eed;    // of the random-pair sample
  EmOptions em;
  // Fields whose exact agreement is TF-adjusted. Not the ids: their values are unique by
  // nature, and a shared id is as strong as the level's weight says.
  std::vector<Field> tf_fields = DefaultTermFrequencyFields();
  // nullopt = automatic: 0.5 on the posterior P(match | vector), where the fitted mixture
  // says a match is more likely than not. A number in (0, 1) overrides it.
  std::optional<double> threshold;
  bool chaining_guard = true;
  size_t max_cluster_size = 100;  // cluster.h: joins past it are refused (and counted)
  // The guard's clear non-match: direct P(match) below it (cluster.h).
  double guard_probability = 1.0 / 21;  // odds 20:1 against
  bool keep_candidates = false;  // fill DedupeResult::candidates (for evaluation)
};

// A pair of records (indices into the input, a < b) within one cluster.
struct MatchedPair {
  uint32_t a = 0, b = 0;
  // The model's P(match) for this pair, computed directly from the two records, whether or
  // not blocking made them candidates (compared == false: joined through other records).
  double probability = 0;
  bool compared = false;
};

struct DedupeStats {
  size_t records = 0;
  size_t candidate_pairs = 0;
  size_t random_pairs = 0;
  std::vector<std::string> blocking_keys;
  BlockingStats blocking;
  EmStats em;
  ClusterStats clustering;
  double threshold = 0;  // on the probability
};

struct DedupeResult {
  Model model;  // fitted m, u per field and level, λ, TF references
  DedupeStats stats;
  std::vector<std::vector<uint32_t>> clusters;  // of 2+ records, ascending input indices
  std::vector<MatchedPair> pairs;  // every pair within every cluster, sorted by (a, b)
  // With keep_candidates: every candidate pair (input indices, a < b) and its probability.
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, double>> candidates;
};

// Invalid for no blocking keys or a threshold outside (0, 1). Fewer than two records, or no
// candidate pair out of blocking, is an empty result (no model fitted: `model` is default, the
// stats say why), not an error.
Result<DedupeResult> Deduplicate(const std::vector<Record>& records,
                                 const DedupeOptions& options);

}  // namespace cjd::hub::matching
