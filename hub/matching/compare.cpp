#include "hub/matching/compare.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>

namespace cjd::hub::matching {
namespace {

std::string_view Clip(std::string_view s) { return s.substr(0, kMaxCompareLength); }

bool IsVowel(char c) { return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U'; }

// Each line is one group of variants of a given name. Kept short on purpose: a variant listed
// wrongly costs precision on every record carrying it.
constexpr std::string_view kNicknames[] = {
    "william will bill billy willy liam",
    "robert rob robbie bob bobby bert",
    "richard rich rick ricky dick",
    "james jim jimmy jamie",
    "john jon johnny jack",
    "jonathan jon jonny",
    "michael mike mick mickey mikey",
    "thomas tom tommy",
    "christopher chris kit",
    "christine chris chrissy christina kristina tina",
    "matthew matt matty",
    "daniel dan danny",
    "david dave davey",
    "joseph joe joey",
    "benjamin ben benny benji",
    "samuel sam sammy",
    "samantha sam sammy",
    "alexander alex alec xander sandy",
    "alexandra alex alexa sandra sandy",
    "andrew andy drew",
    "anthony tony",
    "edward ed eddie ted teddy ned",
    "nicholas nick nicky",
    "patrick pat paddy",
    "patricia pat patty trish tricia",
    "peter pete",
    "stephen steven steve stevie",
    "timothy tim timmy",
    "charles charlie chuck chas",
    "henry harry hank",
    "lawrence laurence larry",
    "joshua josh",
    "zachary zach zack",
    "elizabeth liz lizzie beth betty eliza libby",
    "margaret maggie meg peggy marge",
    "katherine catherine kathryn kate katie kathy cathy kat",
    "jennifer jenny jen",
    "rebecca becky bec",
    "deborah debra debbie deb",
    "susan sue susie suzanne",
    "jessica jess jessie",
    "victoria vicky tori",
    "abigail abby abbie",
    "madeline madeleine maddie maddy",
    "isabella isabelle bella izzy",
    "gabrielle gabriella gabby",
    "kimberly kimberley kim",
    "jacqueline jackie",
    "dorothy dot dottie",
};

struct NicknameTable {
  std::array<std::pair<std::string_view, int>, 256> entries{};
  size_t size = 0;
};

// First group wins for a variant listed twice (e.g. "jon").
constexpr NicknameTable BuildNicknames() {
  NicknameTable t;
  int group = 0;
  for (std::string_view line : kNicknames) {
    ++group;
    size_t start = 0;
    while (start < line.size()) {
      size_t end = line.find(' ', start);
      if (end == std::string_view::npos) end = line.size();
      const std::string_view name = line.substr(start, end - start);
      bool seen = false;
      for (size_t i = 0; i < t.size; ++i) seen = seen || t.entries[i].first == name;
      if (!seen) t.entries[t.size++] = {name, group};
      start = end + 1;
    }
  }
  return t;
}

constexpr NicknameTable kNicknameTable = BuildNicknames();

}  // namespace

double Jaro(std::string_view a, std::string_view b) {
  a = Clip(a);
  b = Clip(b);
  if (a.empty() || b.empty()) return 0.0;
  if (a == b) return 1.0;
  const int la = static_cast<int>(a.size()), lb = static_cast<int>(b.size());
  const int window = std::max(0, std::max(la, lb) / 2 - 1);
  // kMaxCompareLength <= 64: one bit per character.
  uint64_t matched_a = 0, matched_b = 0;
  int matches = 0;
  for (int i = 0; i < la; ++i) {
    const int lo = std::max(0, i - window), hi = std::min(lb - 1, i + window);
    for (int j = lo; j <= hi; ++j) {
      if ((matched_b >> j & 1u) || a[i] != b[j]) continue;
      matched_a |= uint64_t{1} << i;
      matched_b |= uint64_t{1} << j;
      ++matches;
      break;
    }
  }
  if (matches == 0) return 0.0;
  int transposed = 0;
  for (int i = 0, j = 0; i < la; ++i) {
    if (!(matched_a >> i & 1u)) continue;
    while (!(matched_b >> j & 1u)) ++j;
    if (a[i] != b[j]) ++transposed;
    ++j;
  }
  const double m = matches;
  return (m / la + m / lb + (m - transposed / 2) / m) / 3.0;
}

double JaroWinkler(std::string_view a, std::string_view b) {
  const double jaro = Jaro(a, b);
  if (jaro <= 0.7) return jaro;
  size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  return jaro + 0.1 * static_cast<double>(prefix) * (1.0 - jaro);
}

int EditDistance(std::string_view a, std::string_view b, int max_distance) {
  a = Clip(a);
  b = Clip(b);
  const int la = static_cast<int>(a.size()), lb = static_cast<int>(b.size());
  if (std::abs(la - lb) > max_distance) return max_distance + 1;
  if (la == 0 || lb == 0) return std::min(std::max(la, lb), max_distance + 1);
  // Only the band |i - j| <= max_distance can hold a value <= max_distance (Ukkonen), so the
  // rows are filled there only; cells outside count as "over the cap". Three rolling rows: the
  // transposition looks two rows back.
  const int over = max_distance + 1;
  std::array<int, kMaxCompareLength + 1> r0, r1, r2;
  int* prev2 = r0.data();
  int* prev = r1.data();
  int* cur = r2.data();
  for (int j = 0; j <= lb; ++j) prev[j] = std::min(j, over);
  std::fill(prev2, prev2 + lb + 1, over);
  for (int i = 1; i <= la; ++i) {
    const int lo = std::max(1, i - max_distance), hi = std::min(lb, i + max_distance);
    cur[0] = std::min(i, over);
    if (lo > 1) cur[lo - 1] = over;
    int row_min = lo == 1 ? cur[0] : over;
    for (int j = lo; j <= hi; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        v = std::min(v, prev2[j - 2] + 1);
      }
      cur[j] = std::min(v, over);
      row_min = std::min(row_min, cur[j]);
    }
    if (hi < lb) cur[hi + 1] = over;
    // A cell comes from this row, the row above or (a transposition) two rows up, so once a
    // row is over the cap and the one before it too, every later row is.
    if (row_min >= over && i > 1) {
      int prev_min = over;
      for (int j = std::max(0, i - 1 - max_distance); j <= std::min(lb, i - 1 + max_distance); ++j) {
        prev_min = std::min(prev_min, prev[j]);
      }
      if (prev_min >= over) return over;
    }
    int* t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return std::min(prev[lb], over);
}

std::string Nysiis(std::string_view word) {
  std::string s;
  s.reserve(word.size());
  for (char c : word) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c >= 'A' && c <= 'Z') s.push_back(c);
  }
  if (s.empty()) return s;
  auto starts = [&s](std::string_view p) { return s.compare(0, p.size(), p) == 0; };
  auto ends = [&s](std::string_view p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  // 1. Prefixes.
  if (starts("MAC")) {
    s.replace(0, 3, "MCC");
  } else if (starts("KN")) {
    s.erase(0, 1);
  } else if (starts("K")) {
    s[0] = 'C';
  } else if (starts("PH") || starts("PF")) {
    s.replace(0, 2, "FF");
  } else if (starts("SCH")) {
    s.replace(0, 3, "SSS");
  }
  // 2. Suffixes.
  if (ends("EE") || ends("IE")) {
    s.replace(s.size() - 2, 2, "Y");
  } else if (ends("DT") || ends("RT") || ends("RD") || ends("NT") || ends("ND")) {
    s.replace(s.size() - 2, 2, "D");
  }
  // 3. The key starts with the first letter; 4. the rest is translated, runs collapsed.
  std::string key(1, s[0]);
  const size_t n = s.size();
  for (size_t i = 1; i < n; ++i) {
    std::string_view ch(&s[i], 1);
    const char c = s[i];
    const char next = i + 1 < n ? s[i + 1] : '\0';
    if (c == 'E' && next == 'V') {
      ch = "AF";
      ++i;
    } else if (IsVowel(c)) {
      ch = "A";
    } else if (c == 'Q') {
      ch = "G";
    } else if (c == 'Z') {
      ch = "S";
    } else if (c == 'M') {
      ch = "N";
    } else if (c == 'K') {
      ch = next == 'N' ? "N" : "C";
    } else if (c == 'S' && next == 'C' && i + 2 < n && s[i + 2] == 'H') {
      ch = "SS";
      i += 2;
    } else if (c == 'P' && next == 'H') {
      ch = "F";
      ++i;
    } else if (c == 'H' && (!IsVowel(s[i - 1]) || next == '\0' || !IsVowel(next))) {
      ch = IsVowel(s[i - 1]) ? std::string_view("A") : std::string_view(&s[i - 1], 1);
    } else if (c == 'W' && IsVowel(s[i - 1])) {
      ch = std::string_view(&s[i - 1], 1);
    }
    if (ch.back() != key.back()) key.append(ch);
  }
  // 5-7. Trailing S, AY, A.
  if (key.size() > 1 && key.back() == 'S') key.pop_back();
  if (key.size() >= 2 && key.compare(key.size() - 2, 2, "AY") == 0) key.replace(key.size() - 2, 2, "Y");
  if (key.size() > 1 && key.back() == 'A') key.pop_back();
  return key;
}

int NicknameGroup(std::string_view name) {
  for (size_t i = 0; i < kNicknameTable.size; ++i) {
    if (kNicknameTable.entries[i].first == name) return kNicknameTable.entries[i].second;
  }
  return 0;
}

DateLevel CompareDates(std::string_view a, std::string_view b) {
  if (a == b) return DateLevel::kExact;
  const std::string_view ya = a.substr(0, 4), yb = b.substr(0, 4);
  if (ya == yb && a.substr(4, 2) == b.substr(6, 2) && a.substr(6, 2) == b.substr(4, 2)) {
    return DateLevel::kDayMonthSwapped;
  }
  const int d = EditDistance(a, b, 2);
  if (d == 1) return DateLevel::kOneEdit;
  if (d == 2) return DateLevel::kTwoEdits;
  if (ya == yb) return DateLevel::kSameYear;
  return DateLevel::kDifferent;
}

}  // namespace cjd::hub::matching
