// String and value metrics the matcher compares fields with. Pure functions on normalised text
// (normalize.h): no allocation, no state, safe from any thread.
//
// Lengths: Jaro–Winkler and the edit distances look at the first kMaxCompareLength bytes of each
// string only, so they run on fixed stack buffers inside the comparison loop. Person fields are
// far shorter; two longer values that agree on their first 64 bytes but differ later still
// differ as interned values, so they never reach the "exact" level.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cjd::hub::matching {

inline constexpr size_t kMaxCompareLength = 64;

// Jaro similarity in [0, 1]: 1 for equal strings, 0 if either is empty or nothing matches.
double Jaro(std::string_view a, std::string_view b);

// Jaro–Winkler (Winkler 1990): Jaro plus 0.1 x (common prefix, at most 4) x (1 - Jaro), the
// boost applied only when Jaro > 0.7. MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.840,
// DIXON/DICKSONX 0.813.
double JaroWinkler(std::string_view a, std::string_view b);

// Optimal string alignment distance (Levenshtein plus transposition of two adjacent characters,
// each counted as one edit), capped: returns min(distance, max_distance + 1). The cap lets it
// stop early, which is what the comparison loop needs ("within 1 edit?").
int EditDistance(std::string_view a, std::string_view b, int max_distance);

// NYSIIS phonetic code (New York State Identification and Intelligence System, Taft 1970) of a
// word, in upper case and untruncated; non-letters are ignored. "" for a word without letters.
// Catherine and Katherine both give CATARAN, Knight NAGT, Mitchell MATCAL.
std::string Nysiis(std::string_view word);

// The group of common English given-name variants `name` (lower case) belongs to (william, will,
// bill, billy, liam, ... share one), or 0 if it is in none. A small built-in table.
int NicknameGroup(std::string_view name);

// Dates as 8 digits YYYYMMDD (normalize.h brings other layouts to it).
enum class DateLevel : uint8_t {
  kExact = 0,
  kDayMonthSwapped,  // YYYYDDMM vs YYYYMMDD, day != month
  kOneEdit,          // edit distance 1 on the 8 digits (one typo or one adjacent swap)
  kTwoEdits,         // edit distance 2
  kSameYear,         // otherwise the same year
  kDifferent,
};
// REQUIRES: both are 8 digits.
DateLevel CompareDates(std::string_view a, std::string_view b);

}  // namespace cjd::hub::matching
