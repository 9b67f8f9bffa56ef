// Clustering of matched pairs into entities. Pure; no I/O.
//
// Pairs at or above the threshold are joined strongest first (single linkage, i.e. connected
// components) with an optional guard against chaining: two clusters A and B, once both hold
// more than one record in total, are joined unless most of the |A| x |B| pairs between them
// are clear non-matches (direct weight below guard_weight, by default odds of 20:1 against a
// match). A duplicate whose partner is a corrupted copy still joins: the pair with the
// original holds and the pairs with other corrupted copies are weak but rarely clear
// non-matches. A weak false link between two people's clusters, whose other cross pairs are all
// clear non-matches, is refused. hub/matching/README.md discusses the choice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace cjd::hub::matching {

struct ScoredPair {
  uint32_t a = 0, b = 0;
  double weight = 0;  // ln Bayes factor
};

struct ClusterOptions {
  double threshold_weight = 0;  // a pair matches iff weight >= this
  bool chaining_guard = true;
  double guard_weight = 0;      // a cross pair below it is a clear non-match
  // No join makes a cluster larger than this: one person rarely has more than a handful of
  // records, and a chain through many small blocks (hostile or degenerate input) would
  // otherwise grow one cluster whose n(n-1)/2 pairs are written out. 0: no limit.
  size_t max_cluster_size = 100;
};

struct ClusterStats {
  size_t links = 0;          // pairs at or above the threshold
  size_t merges = 0;         // joins made
  size_t refused_merges = 0; // joins the guard refused
  size_t refused_oversize = 0;  // joins refused because the cluster would pass max_cluster_size
};

// Clusters of 2+ items out of n, each ascending, ordered by their first item.
// `order[i]` breaks ties between equal weights (a content rank, so the input order of the
// records never matters); `direct(a, b)` scores a pair that was not compared.
std::vector<std::vector<uint32_t>> ClusterPairs(size_t n, std::vector<ScoredPair> pairs,
                                                const std::vector<uint32_t>& order,
                                                const std::function<double(uint32_t, uint32_t)>& direct,
                                                const ClusterOptions& options,
                                                ClusterStats* stats);

}  // namespace cjd::hub::matching
