#include "hub/matching/cluster.h"

#include <algorithm>
#include <numeric>
#include <tuple>
#include <unordered_map>

namespace cjd::hub::matching {

std::vector<std::vector<uint32_t>> ClusterPairs(size_t n, std::vector<ScoredPair> pairs,
                                                const std::vector<uint32_t>& order,
                                                const std::function<double(uint32_t, uint32_t)>& direct,
                                                const ClusterOptions& options,
                                                ClusterStats* stats) {
  ClusterStats local;
  std::erase_if(pairs, [&](const ScoredPair& p) { return p.weight < options.threshold_weight; });
  local.links = pairs.size();
  auto key = [&](const ScoredPair& p) {
    const uint32_t ra = order[p.a], rb = order[p.b];
    return std::make_tuple(-p.weight, std::min(ra, rb), std::max(ra, rb));
  };
  std::sort(pairs.begin(), pairs.end(),
            [&](const ScoredPair& x, const ScoredPair& y) { return key(x) < key(y); });
  // The compared pairs' weights, so the guard re-scores only pairs that were never compared.
  std::unordered_map<uint64_t, double> known;
  if (options.chaining_guard) {
    for (const ScoredPair& p : pairs) {
      known[uint64_t{std::min(p.a, p.b)} << 32 | std::max(p.a, p.b)] = p.weight;
    }
  }
  std::vector<uint32_t> root(n);
  std::iota(root.begin(), root.end(), 0u);
  std::vector<std::vector<uint32_t>> members(n);
  auto find = [&](uint32_t x) {
    while (root[x] != x) x = root[x] = root[root[x]];
    return x;
  };
  for (const ScoredPair& p : pairs) {
    uint32_t ra = find(p.a), rb = find(p.b);
    if (ra == rb) continue;
    const std::vector<uint32_t> solo_a{ra}, solo_b{rb};
    const std::vector<uint32_t>& ma = members[ra].empty() ? solo_a : members[ra];
    const std::vector<uint32_t>& mb = members[rb].empty() ? solo_b : members[rb];
    if (options.max_cluster_size > 0 && ma.size() + mb.size() > options.max_cluster_size) {
      ++local.refused_oversize;
      continue;
    }
    if (options.chaining_guard && ma.size() * mb.size() > 1) {
      size_t against = 0;
      for (uint32_t x : ma) {
        for (uint32_t y : mb) {
          const uint64_t k = uint64_t{std::min(x, y)} << 32 | std::max(x, y);
          const auto it = known.find(k);
          const double w = it != known.end() ? it->second : direct(x, y);
          if (w < options.guard_weight) ++against;
        }
      }
      if (2 * against > ma.size() * mb.size()) {
        ++local.refused_merges;
        continue;
      }
    }
    std::vector<uint32_t> merged(ma);
    merged.insert(merged.end(), mb.begin(), mb.end());
    if (merged.size() < 2) continue;
    if (members[ra].size() + (members[ra].empty() ? 1 : 0) <
        members[rb].size() + (members[rb].empty() ? 1 : 0)) {
      std::swap(ra, rb);
    }
    root[rb] = ra;
    members[ra] = std::move(merged);
    members[rb].clear();
    members[rb].shrink_to_fit();
    ++local.merges;
  }
  std::vector<std::vector<uint32_t>> out;
  for (uint32_t i = 0; i < n; ++i) {
    if (root[i] == i && members[i].size() >= 2) {
      std::sort(members[i].begin(), members[i].end());
      out.push_back(std::move(members[i]));
    }
  }
  std::sort(out.begin(), out.end());
  if (stats != nullptr) *stats = local;
  return out;
}

}  // namespace cjd::hub::matching
