#include "hub/matching/comparison.h"

#include <algorithm>

#include "hub/matching/compare.h"

namespace cjd::hub::matching {
namespace {

enum class Kind : uint8_t { kName, kDate, kAddress, kCode, kId, kEmail };

constexpr Kind KindOf(Field f) {
  switch (f) {
    case Field::kFirstName:
    case Field::kLastName:
      return Kind::kName;
    case Field::kDateOfBirth:
      return Kind::kDate;
    case Field::kAddressLine1:
    case Field::kAddressLine2:
    case Field::kCity:
      return Kind::kAddress;
    case Field::kStreetNumber:
    case Field::kPostcode:
    case Field::kRegion:
      return Kind::kCode;
    case Field::kNationalId:
    case Field::kPhone:
      return Kind::kId;
    case Field::kEmail:
      return Kind::kEmail;
  }
  return Kind::kCode;
}

constexpr std::string_view kNameLevels[] = {"exact", "jaro_winkler>=0.92", "phonetic_or_nickname",
                                            "jaro_winkler>=0.80", "different"};
constexpr std::string_view kDateLevels[] = {"exact",     "day_month_swapped", "one_edit",
                                            "two_edits", "same_year",         "different"};
constexpr std::string_view kAddressLevels[] = {"exact", "jaro_winkler>=0.92_or_same_words",
                                               "word_jaccard>=0.5_or_two_edits",
                                               "jaro_winkler>=0.80", "different"};
constexpr std::string_view kCodeLevels[] = {"exact", "one_edit", "different"};
constexpr std::string_view kIdLevels[] = {"exact", "one_edit", "two_edits", "different"};
constexpr std::string_view kEmailLevels[] = {"exact", "same_local_part_or_two_edits",
                                             "different"};

int8_t NameLevel(const FieldValues& v, uint32_t a, uint32_t b) {
  const double jw = JaroWinkler(v.text.View(a), v.text.View(b));
  if (jw >= 0.92) return 1;
  if (v.phonetic[a] == v.phonetic[b] || (v.nickname[a] != 0 && v.nickname[a] == v.nickname[b])) {
    return 2;
  }
  return jw >= 0.80 ? 3 : 4;
}

int8_t DateLevelOf(const FieldValues& v, uint32_t a, uint32_t b) {
  if (!v.is_date[a] || !v.is_date[b]) return 5;
  return static_cast<int8_t>(CompareDates(v.text.View(a), v.text.View(b)));
}

// |A ∩ B| and |A ∪ B| of two sorted word-id ranges.
void Overlap(const FieldValues& v, uint32_t a, uint32_t b, int* common, int* all) {
  const uint32_t* i = v.word_ids.data() + v.word_begin[a];
  const uint32_t* ie = v.word_ids.data() + v.word_end[a];
  const uint32_t* j = v.word_ids.data() + v.word_begin[b];
  const uint32_t* je = v.word_ids.data() + v.word_end[b];
  const int total = static_cast<int>((ie - i) + (je - j));
  int c = 0;
  while (i != ie && j != je) {
    if (*i < *j) {
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      ++c, ++i, ++j;
    }
  }
  *common = c;
  *all = total - c;
}

int8_t AddressLevel(const FieldValues& v, uint32_t a, uint32_t b) {
  const std::string_view ta = v.text.View(a), tb = v.text.View(b);
  int common = 0, all = 0;
  Overlap(v, a, b, &common, &all);
  const double jw = JaroWinkler(ta, tb);
  if (jw >= 0.92 || (all > 0 && common == all)) return 1;
  if ((all > 0 && 2 * common >= all) || EditDistance(ta, tb, 2) <= 2) return 2;
  return jw >= 0.80 ? 3 : 4;
}

// Edit distance of two different values, at least 1: the metric reads the first 64 bytes only,
// so two long values that differ further on would otherwise measure 0 and score "exact".
int DistanceOfDifferent(std::string_view a, std::string_view b, int cap) {
  return std::max(1, EditDistance(a, b, cap));
}

int8_t CodeLevel(const FieldValues& v, uint32_t a, uint32_t b) {
  return DistanceOfDifferent(v.text.View(a), v.text.View(b), 1) <= 1 ? 1 : 2;
}

int8_t IdLevel(const FieldValues& v, uint32_t a, uint32_t b) {
  const int d = DistanceOfDifferent(v.text.View(a), v.text.View(b), 2);
  return static_cast<int8_t>(d <= 2 ? d : 3);
}

int8_t EmailLevel(const FieldValues& v, uint32_t a, uint32_t b) {
  const std::string_view ta = v.text.View(a), tb = v.text.View(b);
  const size_t at_a = ta.find('@'), at_b = tb.find('@');
  if (at_a != std::string_view::npos && at_a > 0 && ta.substr(0, at_a) == tb.substr(0, at_b)) {
    return 1;
  }
  return EditDistance(ta, tb, 2) <= 2 ? 1 : 2;
}

}  // namespace

int LevelCount(Field f) {
  switch (KindOf(f)) {
    case Kind::kName:
      return 5;
    case Kind::kDate:
      return 6;
    case Kind::kAddress:
      return 5;
    case Kind::kCode:
      return 3;
    case Kind::kId:
      return 4;
    case Kind::kEmail:
      return 3;
  }
  return 2;
}

std::string_view LevelName(Field f, int level) {
  if (level < 0 || level >= LevelCount(f)) return "missing";
  switch (KindOf(f)) {
    case Kind::kName:
      return kNameLevels[level];
    case Kind::kDate:
      return kDateLevels[level];
    case Kind::kAddress:
      return kAddressLevels[level];
    case Kind::kCode:
      return kCodeLevels[level];
    case Kind::kId:
      return kIdLevels[level];
    case Kind::kEmail:
      return kEmailLevels[level];
  }
  return "missing";
}

ComparisonVector Compare(const RecordTable& table, const PreparedRecord& a,
                         const PreparedRecord& b) {
  ComparisonVector out;
  for (size_t i = 0; i < kFieldCount; ++i) {
    const Field f = static_cast<Field>(i);
    const uint32_t va = a.value[i], vb = b.value[i];
    if (va == 0 || vb == 0) {
      out[i] = kMissing;
      continue;
    }
    if (va == vb) {
      out[i] = 0;
      continue;
    }
    const FieldValues& v = table.values(f);
    switch (KindOf(f)) {
      case Kind::kName:
        out[i] = NameLevel(v, va, vb);
        break;
      case Kind::kDate:
        out[i] = DateLevelOf(v, va, vb);
        break;
      case Kind::kAddress:
        out[i] = AddressLevel(v, va, vb);
        break;
      case Kind::kCode:
        out[i] = CodeLevel(v, va, vb);
        break;
      case Kind::kId:
        out[i] = IdLevel(v, va, vb);
        break;
      case Kind::kEmail:
        out[i] = EmailLevel(v, va, vb);
        break;
    }
  }
  // First and last name swapped between the records (a common entry error): both count as a
  // close match rather than two disagreements. Compared as text, as the two fields intern
  // separately.
  const size_t fn = Index(Field::kFirstName), ln = Index(Field::kLastName);
  if (out[fn] >= 3 && out[ln] >= 3) {
    const std::string_view af = table.Text(Field::kFirstName, a.value[fn]);
    const std::string_view al = table.Text(Field::kLastName, a.value[ln]);
    const std::string_view bf = table.Text(Field::kFirstName, b.value[fn]);
    const std::string_view bl = table.Text(Field::kLastName, b.value[ln]);
    if (JaroWinkler(af, bl) >= 0.92 && JaroWinkler(al, bf) >= 0.92) out[fn] = out[ln] = 1;
  }
  return out;
}

}  // namespace cjd::hub::matching
