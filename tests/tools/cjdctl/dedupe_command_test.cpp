// `cjdctl dedupe` (issue 15), the real program: the FEBRL benchmark files through the command
// line, scored here against the ground truth in rec_id (which names the records in the output
// and never influences matching), the outputs' formats, and usage errors that name their flag,
// field or column.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/binaries.h"
#include "tests/support/datasets.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace cjd::ctl {
namespace {

using namespace std::chrono_literals;

constexpr const char* kFebrlMap =
    "first_name=given_name,last_name=surname,date_of_birth=date_of_birth,"
    "street_number=street_number,address_line1=address_1,address_line2=address_2,city=suburb,"
    "postcode=postcode,region=state,national_id=soc_sec_id";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// "rec-12-dup-0" -> "12": the person, for scoring only.
std::string Person(const std::string& rec_id) {
  const size_t a = rec_id.find('-'), b = rec_id.find('-', a + 1);
  return rec_id.substr(a + 1, b - a - 1);
}

class Dedupe : public ::testing::Test {
 protected:
  int Run(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), {cjd::testing::CjdctlBinary(), "dedupe"});
    return cjd::testing::RunCommand(args, 120s, out);
  }
  cjd::testing::TempDir dir_;
};

TEST_F(Dedupe, FebrlFilesThroughTheCommandLineMeetTheAims) {
  const std::string febrl = cjd::testing::DatasetDir("febrl");
  if (febrl.empty()) {
    CJD_SKIP_WITHOUT_DATA("the FEBRL data sets are not there (expected ../shared/datasets/febrl "
                          "beside the repository); skipping");
  }
  struct Case {
    const char* file;
    size_t true_pairs;
  };
  for (const Case& c : {Case{"dataset1.csv", 500}, Case{"dataset2.csv", 1934},
                        Case{"dataset3.csv", 6538}}) {
    SCOPED_TRACE(c.file);
    const std::string pairs = dir_.Join(std::string(c.file) + ".pairs.csv").string();
    const std::string clusters = dir_.Join(std::string(c.file) + ".clusters.csv").string();
    std::string out;
    ASSERT_EQ(Run({febrl + "/" + c.file, "--map", kFebrlMap, "--id", "rec_id", "--out", pairs,
                   "--clusters-out", clusters},
                  &out),
              0)
        << out;
    std::printf("%s", out.c_str());
    EXPECT_THAT(out, ::testing::HasSubstr("candidate pairs"));
    EXPECT_THAT(out, ::testing::HasSubstr("threshold 0.500000 (auto"));
    const std::vector<std::string> lines = Lines(cjd::testing::ReadFile(pairs));
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0], "id_a,id_b,probability");
    size_t correct = 0;
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 1; i < lines.size(); ++i) {
      std::vector<std::string> f;
      std::istringstream row(lines[i]);
      for (std::string v; std::getline(row, v, ',');) f.push_back(v);
      ASSERT_EQ(f.size(), 3u) << lines[i];
      const double p = std::stod(f[2]);
      EXPECT_GE(p, 0.0);
      EXPECT_LE(p, 1.0);
      EXPECT_TRUE(seen.insert(std::minmax(f[0], f[1])).second) << "pair twice: " << lines[i];
      correct += Person(f[0]) == Person(f[1]);
    }
    const double found = static_cast<double>(lines.size() - 1);
    const double precision = found == 0 ? 1 : correct / found;
    const double recall = static_cast<double>(correct) / static_cast<double>(c.true_pairs);
    const double f1 = 2 * precision * recall / (precision + recall);
    std::printf("%s: pairs %.0f, precision %.4f, recall %.4f, F1 %.4f\n", c.file, found,
                precision, recall, f1);
    EXPECT_GE(f1, 0.999);  // the aim on dataset3; no regression on 1 and 2

    // Clusters: every pair's two records in one cluster, pairs = sum of n(n-1)/2.
    const std::vector<std::string> cl = Lines(cjd::testing::ReadFile(clusters));
    ASSERT_FALSE(cl.empty());
    EXPECT_EQ(cl[0], "cluster,id");
    std::map<std::string, size_t> size;
    for (size_t i = 1; i < cl.size(); ++i) ++size[cl[i].substr(0, cl[i].find(','))];
    size_t implied = 0;
    for (const auto& [id, n] : size) {
      EXPECT_GE(n, 2u);
      implied += n * (n - 1) / 2;
    }
    EXPECT_EQ(implied, lines.size() - 1);
  }
}

TEST_F(Dedupe, ReadsSeveralFilesAsOneSetAndTheIdNeverMatters) {
  // The same two people spread over two files with different column orders; an id column that
  // agrees for a non-match and differs for the matches.
  {
    std::ofstream a(dir_.Join("a.csv"));
    a << "ref,first,last,dob,zip\n"
         "X1,Katherine,Wilde,19800412,2600\n"
         "X2,Thomas,Baker,19751102,3000\n"
         "X3,\"Ann, Marie\",Nguyen,19900101,4000\n";
    std::ofstream b(dir_.Join("b.csv"));
    b << "last,first,ref,zip,dob\n"
         "Wilde,Catherine,Y9,2600,19800412\n"
         "Backer,Tom,Y8,3000,19751102\n"
         "Okafor,Chidi,X1,5000,19600707\n";
  }
  const std::string pairs = dir_.Join("pairs.csv").string();
  std::string out;
  ASSERT_EQ(Run({dir_.Join("a.csv").string(), dir_.Join("b.csv").string(), "--map",
                 "first_name=first,last_name=last,date_of_birth=dob,postcode=zip", "--id", "ref",
                 "--out", pairs},
                &out),
            0)
      << out;
  const std::string got = cjd::testing::ReadFile(pairs);
  EXPECT_THAT(got, ::testing::HasSubstr("X1,Y9,")) << got << out;
  EXPECT_THAT(got, ::testing::HasSubstr("X2,Y8,")) << got << out;
  EXPECT_THAT(got, ::testing::Not(::testing::HasSubstr("X1,X1"))) << got;
  EXPECT_THAT(got, ::testing::Not(::testing::HasSubstr("Okafor"))) << got;
}

TEST_F(Dedupe, UsageErrorsNameTheirFlagFieldOrColumn) {
  {
    std::ofstream a(dir_.Join("a.csv"));
    a << "id,first,last\n1,Ann,Lee\n2,Bob,Ray\n";
  }
  const std::string file = dir_.Join("a.csv").string();
  const std::string pairs = dir_.Join("p.csv").string();
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {{file, "--map", "firstname=first", "--id", "id", "--out", pairs}, "unknown field 'firstname'"},
           {{file, "--map", "first_name=given", "--id", "id", "--out", pairs}, "no column 'given'"},
           {{file, "--map", "first_name=first", "--id", "rec", "--out", pairs}, "--id"},
           {{file, "--map", "first_name", "--id", "id", "--out", pairs}, "is not FIELD=COLUMN"},
           {{file, "--map", "first_name=first,first_name=last", "--id", "id", "--out", pairs},
            "mapped twice"},
           {{file, "--map", "first_name=first", "--id", "id", "--out", pairs, "--threshold", "1.5"},
            "--threshold"},
           {{file, "--map", "first_name=first", "--id", "id"}, "--out"},
           {{file, "--map", "first_name=first", "--id", "id", "--out", pairs, "--clusters-out",
             pairs},
            "--clusters-out: the same file as --out"},
           {{file, "--map", "first_name=first", "--id", "id", "--out", file}, "the same file as the input"},
           {{file, "--map", "first_name=first", "--id", "id", "--out", pairs, "--max-records", "1"},
            "--max-records"}}) {
    std::string out;
    EXPECT_EQ(Run(c.args, &out), 2) << out;
    EXPECT_THAT(out, ::testing::HasSubstr(c.says)) << out;
  }
  // A file that cannot be read: exit 1 naming it; no output file left behind.
  std::string out;
  EXPECT_EQ(Run({dir_.Join("missing.csv").string(), "--map", "first_name=first", "--id", "id",
                 "--out", pairs},
                &out),
            1);
  EXPECT_THAT(out, ::testing::HasSubstr("missing.csv"));
  EXPECT_FALSE(std::filesystem::exists(pairs));
  EXPECT_FALSE(std::filesystem::exists(pairs + ".part"));
  EXPECT_EQ(cjd::testing::ReadFile(file), "id,first,last\n1,Ann,Lee\n2,Bob,Ray\n");  // untouched
}

TEST_F(Dedupe, NothingInCommonIsAnEmptyResultAndAmbiguousIdsAreReported) {
  {
    std::ofstream a(dir_.Join("a.csv"));
    a << "id,first,last\n1,Ann,Lee\n1,Bob,Ray\n,Chidi,Okafor\n";
  }
  const std::string pairs = dir_.Join("p.csv").string();
  const std::string clusters = dir_.Join("c.csv").string();
  std::string out;
  ASSERT_EQ(Run({dir_.Join("a.csv").string(), "--map", "first_name=first,last_name=last", "--id",
                 "id", "--out", pairs, "--clusters-out", clusters},
                &out),
            0)
      << out;
  EXPECT_EQ(cjd::testing::ReadFile(pairs), "id_a,id_b,probability\n");
  EXPECT_EQ(cjd::testing::ReadFile(clusters), "cluster,id\n");
  EXPECT_THAT(out, ::testing::HasSubstr("1 record(s) with an empty id and 1 repeated value(s)"));
  EXPECT_THAT(out, ::testing::HasSubstr("no two records share a blocking key"));
}

}  // namespace
}  // namespace cjd::ctl
