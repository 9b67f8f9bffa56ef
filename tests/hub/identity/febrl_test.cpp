// Deterministic linking on the FEBRL benchmark (../shared/datasets/febrl, see its README).
//
// FEBRL records carry no phone or email: the usable identifier is `soc_sec_id`, taken here as a
// customer_id. The ground truth (`rec_id`: same N = same person) is read only to score.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hub/identity/guardrails.h"
#include "tests/support/datasets.h"
#include "hub/identity/identifier.h"
#include "tests/hub/identity/memory_resolver.h"

namespace cjd::hub::identity {
namespace {

namespace fs = std::filesystem;

struct Record {
  std::string entity;  // N of rec-N-org / rec-N-dup-K: ground truth only
  std::vector<std::string> fields;
};

fs::path FebrlDir() {
  const char* src = std::getenv("CJD_SOURCE_DIR");
  return fs::path(src ? src : ".") / ".." / "shared" / "datasets" / "febrl";
}

std::vector<Record> ReadFebrl(const fs::path& file) {
  std::ifstream in(file);
  std::vector<Record> out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    Record r;
    size_t start = 0;
    while (true) {
      const size_t comma = line.find(',', start);
      std::string f = line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      f.erase(0, f.find_first_not_of(' '));  // comma followed by a space
      r.fields.push_back(f);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    const std::string& id = r.fields[0];  // rec-N-org | rec-N-dup-K
    const size_t a = id.find('-');
    r.entity = id.substr(a + 1, id.find('-', a + 1) - a - 1);
    out.push_back(std::move(r));
  }
  return out;
}

constexpr size_t kSocSecId = 10;

struct Score {
  long predicted = 0;  // pairs put together
  long correct = 0;    // of those, same true entity
  long truth = 0;      // all true pairs
  double precision() const { return predicted ? static_cast<double>(correct) / predicted : 1.0; }
  double recall() const { return truth ? static_cast<double>(correct) / truth : 1.0; }
};

// Scores a clustering: cluster label per record.
template <typename Label>
Score ScoreClusters(const std::vector<Record>& records, const std::vector<Label>& label) {
  Score s;
  std::map<Label, std::map<std::string, long>> by_cluster;
  std::map<std::string, long> by_entity;
  for (size_t i = 0; i < records.size(); ++i) {
    ++by_cluster[label[i]][records[i].entity];
    ++by_entity[records[i].entity];
  }
  for (const auto& [e, n] : by_entity) s.truth += n * (n - 1) / 2;
  for (const auto& [c, entities] : by_cluster) {
    long n = 0;
    for (const auto& [e, k] : entities) {
      n += k;
      s.correct += k * (k - 1) / 2;
    }
    s.predicted += n * (n - 1) / 2;
  }
  return s;
}

struct Dataset {
  const char* file;
  size_t records;
  long truth_pairs;
};
constexpr Dataset kDatasets[] = {
    {"dataset1.csv", 1000, 500}, {"dataset2.csv", 5000, 1934}, {"dataset3.csv", 5000, 6538}};

class Febrl : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(FebrlDir() / "dataset1.csv")) {
      CJD_SKIP_WITHOUT_DATA("FEBRL data set not found at " + FebrlDir().string() +
                            " (needs ../shared/datasets/febrl next to the source tree)");
    }
  }
};

TEST_F(Febrl, CustomerIdNormalisationIsStable) {
  const NormalizeOptions au{"AU"};
  for (const Dataset& d : kDatasets) {
    const std::vector<Record> records = ReadFebrl(FebrlDir() / d.file);
    ASSERT_EQ(records.size(), d.records) << d.file;
    for (const Record& r : records) {
      ASSERT_EQ(r.fields.size(), 11u) << r.fields[0];
      const std::string& raw = r.fields[kSocSecId];
      const Result<std::string> n = Normalize(IdType::kCustomerId, raw, au);
      ASSERT_TRUE(n.ok()) << r.fields[0] << ": " << n.status().ToString();
      EXPECT_EQ(*n, raw);
      EXPECT_EQ(*Normalize(IdType::kCustomerId, *n, au), *n);
      EXPECT_EQ(*Normalize(IdType::kCustomerId, "  " + raw + "\t", au), *n);
    }
  }
}

// Exact-key grouping on the keyed hash of the normalised soc_sec_id: how many records of
// different people does it join? The ground truth allows none.
TEST_F(Febrl, ExactKeyGroupingNeverJoinsDifferentPeople) {
  const Guardrails guardrails;
  PepperKey pepper{};
  pepper.fill(0x5A);
  for (const Dataset& d : kDatasets) {
    const std::vector<Record> records = ReadFebrl(FebrlDir() / d.file);
    std::vector<std::string> label;
    int blocked = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      const std::string n = *Normalize(IdType::kCustomerId, records[i].fields[kSocSecId], {"AU"});
      if (!guardrails.Check(IdType::kCustomerId, n).allowed()) {
        ++blocked;
        label.push_back("record:" + std::to_string(i));  // stays on its own
        continue;
      }
      label.push_back(KeyHex(IdentifierKey(IdType::kCustomerId, n, pepper)));
    }
    const Score s = ScoreClusters(records, label);
    std::cout << "[ febrl ] " << d.file << " exact soc_sec_id: pairs linked " << s.predicted
              << ", correct " << s.correct << ", true pairs " << s.truth << ", precision "
              << s.precision() << ", recall " << s.recall() << ", blocked " << blocked << "\n";
    EXPECT_EQ(s.truth, d.truth_pairs) << d.file;
    EXPECT_EQ(s.predicted, s.correct) << d.file << ": records of different people joined";
    EXPECT_GT(s.recall(), 0.8) << d.file;
  }
}

// The same records through the planner, one event each, as the hub would see them: it must
// form exactly the exact-key groups (one profile per distinct soc_sec_id).
TEST_F(Febrl, PlannerFormsTheExactKeyGroups) {
  const Guardrails guardrails;
  for (const Dataset& d : kDatasets) {
    const std::vector<Record> records = ReadFebrl(FebrlDir() / d.file);
    testing::MemoryResolver resolver(guardrails);
    std::vector<ProfileId> landed;
    std::set<std::string> distinct;
    for (const Record& r : records) {
      const Identifier id{IdType::kCustomerId,
                          *Normalize(IdType::kCustomerId, r.fields[kSocSecId], {"AU"})};
      distinct.insert(id.value);
      const auto applied = resolver.Apply({id});
      ASSERT_TRUE(applied.profile.has_value());
      EXPECT_TRUE(applied.plan.merges.empty());
      landed.push_back(*applied.profile);
    }
    EXPECT_EQ(resolver.profile_count(), distinct.size()) << d.file;
    const Score s = ScoreClusters(records, landed);
    std::cout << "[ febrl ] " << d.file << " planner: profiles " << resolver.profile_count()
              << " for " << records.size() << " records, precision " << s.precision()
              << ", recall " << s.recall() << "\n";
    EXPECT_EQ(s.predicted, s.correct) << d.file;
  }
}

// Linking through two identifiers, with merges: each event carries the soc_sec_id (customer_id)
// and, when all three are present, given name + surname + date of birth as a second, noisier
// identifier (card_fingerprint here: FEBRL has no email, phone or card). Events that share either
// join, transitively, through the planner's merges and guardrails.
TEST_F(Febrl, MergesThroughTwoIdentifiersStayPrecise) {
  const Guardrails guardrails;
  size_t total_merges = 0;
  for (const Dataset& d : kDatasets) {
    const std::vector<Record> records = ReadFebrl(FebrlDir() / d.file);
    testing::MemoryResolver resolver(guardrails);
    std::vector<ProfileId> landed;
    size_t merges = 0;
    std::map<std::string, int> refused;
    for (const Record& r : records) {
      std::vector<Identifier> ids = {
          {IdType::kCustomerId, *Normalize(IdType::kCustomerId, r.fields[kSocSecId], {"AU"})}};
      if (!r.fields[1].empty() && !r.fields[2].empty() && !r.fields[9].empty()) {
        ids.push_back({IdType::kCardFingerprint,
                       *Normalize(IdType::kCardFingerprint,
                                  r.fields[1] + "|" + r.fields[2] + "|" + r.fields[9], {"AU"})});
      }
      const auto applied = resolver.Apply(ids);
      ASSERT_TRUE(applied.profile.has_value());
      merges += applied.plan.merges.size();
      for (const Refusal& x : applied.plan.refused) {
        ++refused[std::string(RefusalReasonName(x.reason)) + ":" + x.detail];
      }
      landed.push_back(*applied.profile);
    }
    for (ProfileId& p : landed) p = resolver.Current(p);
    const Score s = ScoreClusters(records, landed);
    std::string refusals;
    for (const auto& [why, n] : refused) refusals += " " + why + "=" + std::to_string(n);
    std::cout << "[ febrl ] " << d.file << " two identifiers: merges " << merges << ", refused"
              << (refusals.empty() ? " none" : refusals) << ", profiles " << resolver.profile_count() << ", pairs linked "
              << s.predicted << ", precision " << s.precision() << ", recall " << s.recall()
              << "\n";
    EXPECT_EQ(s.predicted, s.correct) << d.file << ": records of different people joined";
    EXPECT_GT(s.recall(), 0.9) << d.file;
    total_merges += merges;
  }
  EXPECT_GT(total_merges, 0u);
}

}  // namespace
}  // namespace cjd::hub::identity
