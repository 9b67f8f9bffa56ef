// The dedupe pipeline's contracts: ids never influence matching, input order does not matter,
// every pair within a cluster is reported, bad options are refused, and the pieces the hub
// needs for incremental matching (index once, query per new record, score one pair) agree with
// the batch run.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "hub/matching/blocking.h"
#include "hub/matching/dedupe.h"
#include "hub/matching/fellegi_sunter.h"
#include "hub/matching/record_table.h"
#include "tests/hub/matching/generated_people.h"

namespace cjd::hub::matching {
namespace {

using IdPairs = std::set<std::pair<std::string, std::string>>;

IdPairs PairsById(const std::vector<Record>& records, const DedupeResult& result) {
  IdPairs out;
  for (const MatchedPair& p : result.pairs) {
    out.insert(std::minmax(records[p.a].id, records[p.b].id));
  }
  return out;
}

std::vector<Record> People(size_t n) {
  std::vector<Record> records = generated::GeneratePeople(n, 7).first;
  for (size_t i = 0; i < records.size(); ++i) records[i].id = "r" + std::to_string(i);
  return records;
}

TEST(Dedupe, FindsTheGeneratedDuplicates) {
  auto [records, entity] = generated::GeneratePeople(3000, 11);
  const Result<DedupeResult> got = Deduplicate(records, {});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  size_t correct = 0;
  for (const MatchedPair& p : got->pairs) correct += entity[p.a] == entity[p.b];
  size_t truth = 0;
  std::vector<size_t> per(records.size(), 0);
  for (uint32_t e : entity) truth += per[e]++;
  ASSERT_GT(truth, 0u);
  EXPECT_GE(static_cast<double>(correct) / got->pairs.size(), 0.99);
  EXPECT_GE(static_cast<double>(correct) / truth, 0.97);
}

TEST(Dedupe, ShufflingAndRenamingChangeNothing) {
  const std::vector<Record> records = People(2000);
  const Result<DedupeResult> base = Deduplicate(records, {});
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  ASSERT_FALSE(base->pairs.empty());
  const IdPairs expected = PairsById(records, *base);

  std::vector<size_t> order(records.size());
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937 shuffle(3);
  std::shuffle(order.begin(), order.end(), shuffle);
  std::vector<Record> shuffled;
  for (size_t i : order) shuffled.push_back(records[i]);
  const Result<DedupeResult> got = Deduplicate(shuffled, {});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(PairsById(shuffled, *got), expected);
  EXPECT_DOUBLE_EQ(got->model.lambda, base->model.lambda);

  // New ids, in an order unrelated to the old: the same pairs of records.
  std::vector<Record> renamed = shuffled;
  for (size_t i = 0; i < renamed.size(); ++i) {
    renamed[i].id = std::to_string((i * 7919) % renamed.size()) + "-renamed";
  }
  const Result<DedupeResult> again = Deduplicate(renamed, {});
  ASSERT_TRUE(again.ok());
  IdPairs mapped;
  for (const MatchedPair& p : again->pairs) {
    mapped.insert(std::minmax(shuffled[p.a].id, shuffled[p.b].id));
  }
  EXPECT_EQ(mapped, expected);
}

TEST(Dedupe, ReportsEveryPairWithinEachCluster) {
  const std::vector<Record> records = People(2000);
  const Result<DedupeResult> got = Deduplicate(records, {});
  ASSERT_TRUE(got.ok());
  size_t expected = 0;
  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (const std::vector<uint32_t>& c : got->clusters) {
    ASSERT_GE(c.size(), 2u);
    ASSERT_TRUE(std::is_sorted(c.begin(), c.end()));
    expected += c.size() * (c.size() - 1) / 2;
  }
  ASSERT_EQ(got->pairs.size(), expected);
  for (const MatchedPair& p : got->pairs) {
    EXPECT_LT(p.a, p.b);
    EXPECT_GE(p.probability, 0.0);
    EXPECT_LE(p.probability, 1.0);
    EXPECT_TRUE(seen.insert({p.a, p.b}).second);
  }
  EXPECT_DOUBLE_EQ(got->stats.threshold, 0.5);
  EXPECT_GT(got->model.lambda, 0.0);
  EXPECT_LT(got->model.lambda, 1.0);
}

TEST(Dedupe, AFixedThresholdOverridesTheAutomaticOne) {
  const std::vector<Record> records = People(1500);
  DedupeOptions strict;
  strict.threshold = 0.999999;
  const Result<DedupeResult> a = Deduplicate(records, {});
  const Result<DedupeResult> b = Deduplicate(records, strict);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_DOUBLE_EQ(b->stats.threshold, 0.999999);
  EXPECT_LE(b->stats.clustering.links, a->stats.clustering.links);
}

TEST(Dedupe, RefusesBadInputNamingTheOption) {
  const std::vector<Record> records = People(100);
  DedupeOptions bad;
  bad.threshold = 1.5;
  Result<DedupeResult> got = Deduplicate(records, bad);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().field(), "threshold");
  DedupeOptions no_keys;
  no_keys.blocking_keys.clear();
  got = Deduplicate(records, no_keys);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().field(), "blocking_keys");
  // Records with nothing in common produce no candidates, one record no pair: an empty
  // result, not an error.
  std::vector<Record> empty(3);
  got = Deduplicate(empty, {});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->stats.candidate_pairs, 0u);
  EXPECT_TRUE(got->pairs.empty());
  got = Deduplicate(std::vector<Record>(1), {});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->clusters.empty());
}

// What the hub does with a new record: index the existing ones once, query the new record's
// blocks, and score each candidate with the fitted model.
TEST(Incremental, IndexOnceQueryPerRecordMatchesTheBatchRun) {
  const std::vector<Record> records = People(2000);
  DedupeOptions options;
  options.keep_candidates = true;
  const Result<DedupeResult> batch = Deduplicate(records, options);
  ASSERT_TRUE(batch.ok());

  RecordTable table;
  BlockingIndex index(options.blocking_keys, options.max_block_size);
  for (size_t i = 0; i + 1 < records.size(); ++i) index.Add(table, table.Add(records[i]));
  const uint32_t last = table.Add(records.back());  // the "new" record: not indexed yet
  std::vector<uint32_t> candidates;
  index.Candidates(table, table[last], last, &candidates);

  std::vector<uint32_t> expected;
  for (const auto& [pair, p] : batch->candidates) {
    if (pair.second == last) expected.push_back(pair.first);
  }
  EXPECT_EQ(candidates, expected);
  for (const auto& [pair, p] : batch->candidates) {
    if (pair.second != last) continue;
    // The batch compares in content order; the model is symmetric up to rounding.
    EXPECT_NEAR(MatchProbability(batch->model, table, table[pair.first], table[last]), p, 1e-9);
  }
}

// A chain of links (each record matching the next) stops growing at max_cluster_size: hostile or
// degenerate input cannot make one cluster whose n(n-1)/2 pairs fill the disk.
TEST(Clusters, AChainStopsAtTheClusterSizeLimit) {
  std::vector<ScoredPair> chain;
  for (uint32_t i = 0; i + 1 < 1000; ++i) chain.push_back({i, i + 1, 10.0});
  std::vector<uint32_t> order(1000);
  for (uint32_t i = 0; i < 1000; ++i) order[i] = i;
  ClusterOptions options;
  options.threshold_weight = 0;
  options.chaining_guard = false;
  options.max_cluster_size = 100;
  ClusterStats stats;
  const auto clusters =
      ClusterPairs(1000, chain, order, [](uint32_t, uint32_t) { return 10.0; }, options, &stats);
  size_t total = 0;
  for (const auto& c : clusters) {
    EXPECT_LE(c.size(), 100u);
    total += c.size();
  }
  EXPECT_EQ(total, 1000u);
  EXPECT_GT(stats.refused_oversize, 0u);
}

// Two ids that agree on their first 64 bytes (all the metric reads) but differ after are not
// "exact".
TEST(Compare, LongIdsThatDifferPastTheMetricsWindowAreNotExact) {
  RecordTable table;
  Record a, b;
  a[Field::kNationalId] = std::string(64, '1') + "111";
  b[Field::kNationalId] = std::string(64, '1') + "999999";
  table.Add(a);
  table.Add(b);
  const ComparisonVector v = Compare(table, table[0], table[1]);
  EXPECT_NE(v[Index(Field::kNationalId)], 0);
}

}  // namespace
}  // namespace cjd::hub::matching
