#include "hub/matching/normalize.h"

#include <utility>

namespace cjd::hub::matching {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return c >= 'a' && c <= 'z'; }

// Street-type words and their usual abbreviations, so "wallaby place" and "wallaby pl" share
// their words. Both sides go through the same table, so a wrong entry costs nothing but a
// missed agreement.
constexpr std::pair<std::string_view, std::string_view> kAbbreviations[] = {
    {"street", "st"},    {"road", "rd"},      {"avenue", "ave"},   {"av", "ave"},
    {"place", "pl"},     {"crescent", "cres"}, {"drive", "dr"},    {"court", "ct"},
    {"close", "cl"},     {"parade", "pde"},   {"terrace", "tce"},  {"highway", "hwy"},
    {"lane", "ln"},      {"circuit", "cct"},  {"boulevard", "blvd"}, {"square", "sq"},
    {"grove", "gr"},     {"esplanade", "esp"}, {"apartment", "apt"}, {"unit", "u"},
    {"north", "n"},      {"south", "s"},      {"east", "e"},       {"west", "w"},
    {"mount", "mt"},     {"saint", "st"},     {"village", "vlg"},  {"retirement", "ret"},
};

std::string_view Abbreviate(std::string_view word) {
  for (const auto& [full, abbr] : kAbbreviations) {
    if (word == full) return abbr;
  }
  return word;
}

std::string Keep(std::string_view raw, bool letters, bool digits) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    c = Lower(c);
    if ((letters && IsLetter(c)) || (digits && IsDigit(c))) out.push_back(c);
  }
  return out;
}

std::string Words(std::string_view raw, bool abbreviate) {
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    if (!out.empty()) out.push_back(' ');
    out.append(abbreviate ? Abbreviate(word) : std::string_view(word));
    word.clear();
  };
  for (char c : raw) {
    c = Lower(c);
    if (IsLetter(c) || IsDigit(c)) {
      word.push_back(c);
    } else if (c != '\'') {  // o'connor is one word
      flush();
    }
  }
  flush();
  return out;
}

std::string Date(std::string_view raw) {
  std::string digits = Keep(raw, false, true);
  if (IsDate8(digits)) return digits;
  // YYYY-M-D with one-digit parts.
  std::string parts[3];
  int n = 0;
  for (char c : raw) {
    if (IsDigit(c)) {
      if (n < 3) parts[n].push_back(c);
    } else if (!parts[n < 3 ? n : 2].empty()) {
      ++n;
    }
  }
  if (parts[0].size() == 4 && !parts[1].empty() && parts[1].size() <= 2 && !parts[2].empty() &&
      parts[2].size() <= 2) {
    std::string d = parts[0] + (parts[1].size() == 1 ? "0" : "") + parts[1] +
                    (parts[2].size() == 1 ? "0" : "") + parts[2];
    if (IsDate8(d)) return d;
  }
  return digits;
}

}  // namespace

bool IsDate8(std::string_view s) {
  if (s.size() != 8) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  const int month = (s[4] - '0') * 10 + (s[5] - '0');
  const int day = (s[6] - '0') * 10 + (s[7] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

std::vector<std::string_view> Words(std::string_view normalised) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < normalised.size()) {
    size_t end = normalised.find(' ', start);
    if (end == std::string_view::npos) end = normalised.size();
    if (end > start) out.push_back(normalised.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string NormalizeField(Field field, std::string_view raw) {
  switch (field) {
    case Field::kFirstName:
    case Field::kLastName:
      return Keep(raw, true, false);
    case Field::kDateOfBirth:
      return Date(raw);
    case Field::kStreetNumber:
    case Field::kPostcode:
    case Field::kRegion:
    case Field::kNationalId:
      return Keep(raw, true, true);
    case Field::kPhone:
      return Keep(raw, false, true);
    case Field::kAddressLine1:
    case Field::kAddressLine2:
      return Words(raw, true);
    case Field::kCity:
      return Words(raw, false);
    case Field::kEmail: {
      std::string out;
      for (char c : raw) {
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out.push_back(Lower(c));
      }
      return out;
    }
  }
  return {};
}

}  // namespace cjd::hub::matching
