#include "shared/event/json_scan.h"

#include <cstddef>

namespace cjd {
namespace {

constexpr size_t kNpos = std::string_view::npos;

size_t SkipWs(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// The index after the string starting at s[i] == '"'; kNpos when unterminated.
size_t SkipString(std::string_view s, size_t i) {
  ++i;
  while (true) {
    const size_t q = s.find('"', i);  // memchr: long strings cost little
    if (q == kNpos) return kNpos;
    size_t backslashes = 0;
    while (q - backslashes > i && s[q - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return q + 1;
    i = q + 1;
  }
}

// Characters that matter inside a nested value.
struct Specials {
  bool is[256] = {};
  constexpr Specials() {
    is[static_cast<unsigned char>('"')] = true;
    is[static_cast<unsigned char>('{')] = true;
    is[static_cast<unsigned char>('}')] = true;
    is[static_cast<unsigned char>('[')] = true;
    is[static_cast<unsigned char>(']')] = true;
  }
};
constexpr Specials kSpecials;

// The index after the value starting at s[i]; kNpos when malformed.
size_t SkipValue(std::string_view s, size_t i) {
  if (i >= s.size()) return kNpos;
  const char c = s[i];
  if (c == '"') return SkipString(s, i);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char d = s[i];
      if (!kSpecials.is[static_cast<unsigned char>(d)]) {
        ++i;
        continue;
      }
      if (d == '"') {
        i = SkipString(s, i);
        if (i == kNpos) return kNpos;
        continue;
      }
      if (d == '{' || d == '[') {
        if (++depth > 512) return kNpos;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return kNpos;
  }
  // A number or a literal: up to the next delimiter.
  const size_t start = i;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
         s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
    ++i;
  }
  return i == start ? kNpos : i;
}

}  // namespace

bool ScanObject(std::string_view text, std::vector<JsonMember>* out) {
  out->clear();
  size_t i = SkipWs(text, 0);
  if (i >= text.size() || text[i] != '{') return false;
  i = SkipWs(text, i + 1);
  if (i < text.size() && text[i] == '}') return SkipWs(text, i + 1) == text.size();
  while (i < text.size()) {
    if (text[i] != '"') return false;
    const size_t key_end = SkipString(text, i);
    if (key_end == kNpos) return false;
    const std::string_view key = text.substr(i + 1, key_end - i - 2);
    if (key.find('\\') != std::string_view::npos) return false;
    size_t j = SkipWs(text, key_end);
    if (j >= text.size() || text[j] != ':') return false;
    j = SkipWs(text, j + 1);
    const size_t value_end = SkipValue(text, j);
    if (value_end == kNpos) return false;
    out->push_back(JsonMember{key, text.substr(j, value_end - j), text.substr(i, value_end - i)});
    j = SkipWs(text, value_end);
    if (j >= text.size()) return false;
    if (text[j] == '}') return SkipWs(text, j + 1) == text.size();
    if (text[j] != ',') return false;
    i = SkipWs(text, j + 1);
  }
  return false;
}

bool PlainString(std::string_view value, std::string_view* out) {
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') return false;
  const std::string_view inner = value.substr(1, value.size() - 2);
  if (inner.find('\\') != std::string_view::npos) return false;
  *out = inner;
  return true;
}

}  // namespace cjd
