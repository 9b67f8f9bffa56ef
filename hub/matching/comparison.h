// The comparison vector of a pair: one agreement level per field, chosen by a comparator suited
// to the field. Level 0 is the strongest agreement, the last level "different"; kMissing when
// either side lacks the field (it then carries no evidence either way). The levels are ordered
// rules: a pair gets the first level whose rule holds. hub/matching/README.md lists them.
//
// Pure; reads the RecordTable's precomputed per-value data and allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "hub/matching/fields.h"
#include "hub/matching/record_table.h"

namespace cjd::hub::matching {

inline constexpr int8_t kMissing = -1;
inline constexpr int kMaxLevels = 6;

using ComparisonVector = std::array<int8_t, kFieldCount>;

// How many levels field `f` has (2..kMaxLevels), and a short name for level `level` of it.
int LevelCount(Field f);
std::string_view LevelName(Field f, int level);

// The comparison vector of rows a and b. Symmetric: Compare(t, a, b) == Compare(t, b, a).
ComparisonVector Compare(const RecordTable& table, const PreparedRecord& a,
                         const PreparedRecord& b);

}  // namespace cjd::hub::matching
