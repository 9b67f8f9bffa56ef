// The string metrics, phonetic code, date levels and normalisation the matcher compares with.
#include <gtest/gtest.h>

#include <string>

#include "hub/matching/compare.h"
#include "hub/matching/comparison.h"
#include "hub/matching/normalize.h"
#include "hub/matching/record_table.h"

namespace cjd::hub::matching {
namespace {

TEST(JaroWinkler, MatchesPublishedValues) {
  // Winkler's examples, as quoted in the record-linkage literature.
  EXPECT_NEAR(JaroWinkler("MARTHA", "MARHTA"), 0.961, 0.0005);
  EXPECT_NEAR(JaroWinkler("DWAYNE", "DUANE"), 0.840, 0.0005);
  EXPECT_NEAR(JaroWinkler("DIXON", "DICKSONX"), 0.813, 0.0005);
  EXPECT_NEAR(Jaro("MARTHA", "MARHTA"), 0.944, 0.0005);
  EXPECT_DOUBLE_EQ(JaroWinkler("same", "same"), 1.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("", "abc"), 0.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", "xyz"), 0.0);
}

TEST(JaroWinkler, IsSymmetric) {
  const char* words[] = {"martha", "marhta", "dwayne", "duane", "dixon", "dicksonx", "crate",
                         "trace", "abcvwxyz", "cabvwxyz"};
  for (const char* a : words) {
    for (const char* b : words) EXPECT_DOUBLE_EQ(JaroWinkler(a, b), JaroWinkler(b, a)) << a << b;
  }
}

TEST(EditDistance, CountsEditsAndAdjacentSwapsUpToTheCap) {
  EXPECT_EQ(EditDistance("kitten", "sitting", 5), 3);
  EXPECT_EQ(EditDistance("kitten", "sitting", 2), 3);  // capped: max + 1
  EXPECT_EQ(EditDistance("19560409", "19560490", 2), 1);  // adjacent swap is one edit
  EXPECT_EQ(EditDistance("nsw", "nws", 1), 1);
  EXPECT_EQ(EditDistance("1804974", "1804974", 0), 0);
  EXPECT_EQ(EditDistance("", "abc", 5), 3);
  EXPECT_EQ(EditDistance("abc", "", 1), 2);
  EXPECT_EQ(EditDistance("abcdef", "abcxef", 1), 1);
  EXPECT_EQ(EditDistance("abcdef", "xbcdey", 1), 2);
  EXPECT_EQ(EditDistance("pridham st", "pridhamst", 2), 1);
}

TEST(EditDistance, AgreesWithTheUncappedDistanceInsideTheCap) {
  // Every pair of short strings over {a, b}: the banded, capped result equals the full one
  // whenever the full one is within the cap.
  std::vector<std::string> all = {""};
  for (int len = 1; len <= 5; ++len) {
    for (int bits = 0; bits < (1 << len); ++bits) {
      std::string s;
      for (int i = 0; i < len; ++i) s.push_back((bits >> i & 1) ? 'b' : 'a');
      all.push_back(s);
    }
  }
  for (const std::string& a : all) {
    for (const std::string& b : all) {
      const int full = EditDistance(a, b, 10);
      for (int cap = 0; cap <= 3; ++cap) {
        EXPECT_EQ(EditDistance(a, b, cap), std::min(full, cap + 1)) << a << " " << b << " " << cap;
      }
    }
  }
}

TEST(Nysiis, EncodesKnownNames) {
  EXPECT_EQ(Nysiis("Catherine"), "CATARAN");
  EXPECT_EQ(Nysiis("Katherine"), "CATARAN");
  EXPECT_EQ(Nysiis("Knight"), "NAGT");
  EXPECT_EQ(Nysiis("Mitchell"), "MATCAL");
  EXPECT_EQ(Nysiis("John"), "JAN");
  EXPECT_EQ(Nysiis("Jonathan"), "JANATAN");
  EXPECT_EQ(Nysiis("Johnathan"), "JANATAN");
  EXPECT_EQ(Nysiis("MacDonald"), Nysiis("McDonald"));
  EXPECT_EQ(Nysiis("Phillips"), Nysiis("Filips"));
  EXPECT_EQ(Nysiis("O'Brien"), Nysiis("obrien"));
  EXPECT_EQ(Nysiis(""), "");
  EXPECT_EQ(Nysiis("123"), "");
}

TEST(Nickname, GroupsCommonVariants) {
  EXPECT_NE(NicknameGroup("william"), 0);
  EXPECT_EQ(NicknameGroup("william"), NicknameGroup("bill"));
  EXPECT_EQ(NicknameGroup("katherine"), NicknameGroup("kate"));
  EXPECT_NE(NicknameGroup("william"), NicknameGroup("robert"));
  EXPECT_EQ(NicknameGroup("zzyzx"), 0);
}

TEST(Dates, LevelsFromExactToDifferent) {
  EXPECT_EQ(CompareDates("19560409", "19560409"), DateLevel::kExact);
  EXPECT_EQ(CompareDates("19560409", "19560904"), DateLevel::kDayMonthSwapped);
  EXPECT_EQ(CompareDates("19560409", "19560419"), DateLevel::kOneEdit);    // typo
  EXPECT_EQ(CompareDates("19560409", "19650409"), DateLevel::kOneEdit);    // adjacent swap
  EXPECT_EQ(CompareDates("19560409", "19560418"), DateLevel::kTwoEdits);
  EXPECT_EQ(CompareDates("19560409", "19561123"), DateLevel::kSameYear);
  EXPECT_EQ(CompareDates("19560409", "19871123"), DateLevel::kDifferent);
}

TEST(Normalize, BringsFieldsToOneSpelling) {
  EXPECT_EQ(NormalizeField(Field::kLastName, " O'Brien-Smith "), "obriensmith");
  EXPECT_EQ(NormalizeField(Field::kDateOfBirth, "1956-04-09"), "19560409");
  EXPECT_EQ(NormalizeField(Field::kDateOfBirth, "1956/4/9"), "19560409");
  EXPECT_EQ(NormalizeField(Field::kDateOfBirth, "19560409"), "19560409");
  EXPECT_EQ(NormalizeField(Field::kAddressLine1, "Wallaby  Place,"), "wallaby pl");
  EXPECT_EQ(NormalizeField(Field::kCity, "Mount  Waverley"), "mount waverley");
  EXPECT_EQ(NormalizeField(Field::kPhone, "+61 (2) 9876-5432"), "61298765432");
  EXPECT_EQ(NormalizeField(Field::kEmail, " Ann@Example.COM "), "ann@example.com");
  EXPECT_EQ(NormalizeField(Field::kPostcode, " 2119 "), "2119");
  EXPECT_EQ(NormalizeField(Field::kFirstName, "  "), "");
}

TEST(Compare, GivesOneLevelPerFieldAndMissingForEmpty) {
  RecordTable t;
  Record a, b;
  a[Field::kFirstName] = "William";
  b[Field::kFirstName] = "Bill";
  a[Field::kLastName] = "Green";
  b[Field::kLastName] = "Green";
  a[Field::kDateOfBirth] = "19560409";
  b[Field::kDateOfBirth] = "19560904";
  a[Field::kNationalId] = "1804974";
  b[Field::kNationalId] = "1804947";
  a[Field::kAddressLine1] = "wallaby place";
  b[Field::kAddressLine1] = "place wallaby";
  a[Field::kCity] = "cleveland";
  const uint32_t ra = t.Add(a), rb = t.Add(b);
  const ComparisonVector v = Compare(t, t[ra], t[rb]);
  EXPECT_EQ(v[Index(Field::kFirstName)], 2);  // nickname
  EXPECT_EQ(v[Index(Field::kLastName)], 0);
  EXPECT_EQ(v[Index(Field::kDateOfBirth)], static_cast<int>(DateLevel::kDayMonthSwapped));
  EXPECT_EQ(v[Index(Field::kNationalId)], 1);
  EXPECT_EQ(v[Index(Field::kAddressLine1)], 1);  // same words
  EXPECT_EQ(v[Index(Field::kCity)], kMissing);
  EXPECT_EQ(v[Index(Field::kPhone)], kMissing);
  EXPECT_EQ(Compare(t, t[rb], t[ra]), v);
}

TEST(Compare, SwappedFirstAndLastNamesCountAsClose) {
  RecordTable t;
  Record a, b;
  a[Field::kFirstName] = "kyra";
  a[Field::kLastName] = "wilde";
  b[Field::kFirstName] = "wilde";
  b[Field::kLastName] = "kyra";
  const uint32_t ra = t.Add(a), rb = t.Add(b);  // Add invalidates references from t[]
  const ComparisonVector v = Compare(t, t[ra], t[rb]);
  EXPECT_EQ(v[Index(Field::kFirstName)], 1);
  EXPECT_EQ(v[Index(Field::kLastName)], 1);
}

}  // namespace
}  // namespace cjd::hub::matching
