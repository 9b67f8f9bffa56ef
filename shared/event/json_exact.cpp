// ParseJsonExact: nlohmann's SAX parser with a DOM builder that keeps every non-integer number as
// its original text (see json_exact.h), rejects duplicate object keys and limits nesting depth;
// before it, a fast parser for the common case that builds the same document (FastParser).
#include "shared/event/json_exact.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace cjd {
namespace {

using json = nlohmann::json;

// Far deeper than any event (5 levels); stops pathological input before it costs stack elsewhere
// (copies and dumps of a json value recurse).
constexpr size_t kMaxDepth = 128;

// nlohmann's messages look like "[json.exception.parse_error.101] parse error at line 1, column 9:
// syntax error while parsing value - invalid literal; last read: 'tru}'". Keep the part a human
// needs; the byte offset is reported separately.
std::string DescribeParseError(const std::string& what) {
  std::string s = what;
  if (s.rfind("[json.exception.", 0) == 0) {
    const size_t close = s.find("] ");
    if (close != std::string::npos) s.erase(0, close + 2);
  }
  if (s.rfind("parse error", 0) == 0) {
    const size_t colon = s.find(": ");
    if (colon != std::string::npos) s.erase(0, colon + 2);
  }
  return s;
}

class ExactDomBuilder {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  bool null() { return Add(json(nullptr)) != nullptr; }
  bool boolean(bool v) { return Add(json(v)) != nullptr; }
  bool number_integer(number_integer_t v) { return Add(json(v)) != nullptr; }
  bool number_unsigned(number_unsigned_t v) { return Add(json(v)) != nullptr; }
  // Called for numbers with a fraction or an exponent and for integers beyond 64 bits; `text` is
  // the number exactly as written. The double is ignored.
  bool number_float(number_float_t /*ignored*/, const string_t& text) {
    std::string raw;
    raw.reserve(text.size() + 1);
    raw.push_back(kRawNumberMark);
    raw += text;
    return Add(json(std::move(raw))) != nullptr;
  }
  bool string(string_t& s) {
    if (!s.empty() && s.front() == kRawNumberMark) {
      // "\u0001..." would be indistinguishable from a raw number.
      return Fail("a string must not start with the control character U+0001", Path());
    }
    return Add(json(std::move(s))) != nullptr;
  }
  bool binary(binary_t& /*unused*/) { return Fail("binary values are not JSON", Path()); }

  bool start_object(std::size_t /*unknown size*/) { return Open(json::object()); }
  bool key(string_t& k) {
    Level& level = stack_.back();
    auto& obj = level.value->get_ref<json::object_t&>();
    auto [it, inserted] = obj.try_emplace(std::move(k), nullptr);
    if (!inserted) {
      // try_emplace leaves `k` untouched when the key exists.
      std::string path = Path(/*new_value=*/false);
      if (!path.empty()) path.push_back('.');
      path += k;
      return Fail("duplicate key \"" + k + "\"", std::move(path));
    }
    level.key = &it->first;
    pending_ = &it->second;
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*unknown size*/) { return Open(json::array()); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const json::exception& ex) {
    error_ = Status::Invalid("invalid JSON at byte " + std::to_string(position) + ": " +
                             DescribeParseError(ex.what()));
    return false;
  }

  json& root() { return root_; }
  const Status& error() const { return error_; }

 private:
  struct Level {
    json* value;                       // an object or an array under construction
    const std::string* key = nullptr;  // objects: the key of the member being built
  };

  bool Open(json&& container) {
    if (stack_.size() >= kMaxDepth) {
      return Fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels", Path());
    }
    json* v = Add(std::move(container));
    stack_.push_back(Level{v});
    return true;
  }

  // Places a finished value: as the root, appended to the open array, or as the member value of
  // the last key. Pointers into parents stay valid: a parent only grows once its child is closed.
  json* Add(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& top = *stack_.back().value;
    if (top.is_array()) {
      auto& arr = top.get_ref<json::array_t&>();
      arr.push_back(std::move(v));
      return &arr.back();
    }
    *pending_ = std::move(v);
    return pending_;
  }

  // A path in the style of Status::field(): of the innermost open container, or (with
  // `new_value`) of the value about to be added to it.
  std::string Path(bool new_value = true) const {
    std::string path;
    for (size_t i = 0; i < stack_.size(); ++i) {
      const bool innermost = i + 1 == stack_.size();
      if (innermost && !new_value) break;
      const Level& level = stack_[i];
      if (level.value->is_array()) {
        // An open child has been appended already; a new value will be.
        path += '[' + std::to_string(level.value->size() - (innermost ? 0 : 1)) + ']';
      } else if (level.key != nullptr) {
        if (!path.empty()) path.push_back('.');
        path += *level.key;
      }
    }
    return path;
  }

  bool Fail(std::string message, std::string field) {
    error_ = Status::Invalid("invalid JSON: " + std::move(message), std::move(field));
    return false;
  }

  json root_;
  std::vector<Level> stack_;
  json* pending_ = nullptr;
  Status error_;
};

// ---- the fast path ----------------------------------------------------------------------------
// A recursive-descent parser for the common case: builds the same document as ExactDomBuilder
// under nlohmann's lexer, without the lexer's byte-at-a-time token buffer and the SAX calls. It
// gives up (false) on anything it does not take exactly as nlohmann would -- any syntax error, a
// \u escape, an integer beyond 64 bits, a byte order mark, a duplicate key, a raw-number mark,
// nesting deeper than kMaxDepth -- and ParseJsonExact then runs the SAX parser, which decides
// (with its error messages). So whatever this accepts, the SAX path accepts as the same value.
class FastParser {
 public:
  explicit FastParser(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool Parse(json* out) {
    SkipWs();
    if (!Value(out, 0)) return false;
    SkipWs();
    return p_ == end_;
  }

 private:
  void SkipWs() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  bool Value(json* out, size_t depth) {
    if (p_ >= end_) return false;
    switch (*p_) {
      case '{': return Object(out, depth);
      case '[': return Array(out, depth);
      case '"': {
        std::string s;
        if (!String(&s)) return false;
        if (!s.empty() && s.front() == kRawNumberMark) return false;
        *out = json(std::move(s));
        return true;
      }
      case 't':
        if (!Literal("true")) return false;
        *out = json(true);
        return true;
      case 'f':
        if (!Literal("false")) return false;
        *out = json(false);
        return true;
      case 'n':
        if (!Literal("null")) return false;
        *out = json(nullptr);
        return true;
      default: return Number(out);
    }
  }

  bool Object(json* out, size_t depth) {
    if (depth >= kMaxDepth) return false;
    ++p_;  // '{'
    *out = json::object();
    auto& obj = out->get_ref<json::object_t&>();
    SkipWs();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    while (true) {
      if (p_ >= end_ || *p_ != '"') return false;
      std::string key;
      if (!String(&key)) return false;
      SkipWs();
      if (p_ >= end_ || *p_ != ':') return false;
      ++p_;
      SkipWs();
      auto [it, inserted] = obj.try_emplace(std::move(key), nullptr);
      if (!inserted) return false;  // a duplicate: the SAX path reports it
      if (!Value(&it->second, depth + 1)) return false;
      SkipWs();
      if (p_ >= end_) return false;
      if (*p_ == ',') {
        ++p_;
        SkipWs();
        continue;
      }
      if (*p_ != '}') return false;
      ++p_;
      return true;
    }
  }

  bool Array(json* out, size_t depth) {
    if (depth >= kMaxDepth) return false;
    ++p_;  // '['
    *out = json::array();
    auto& arr = out->get_ref<json::array_t&>();
    SkipWs();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    while (true) {
      arr.emplace_back();
      if (!Value(&arr.back(), depth + 1)) return false;
      SkipWs();
      if (p_ >= end_) return false;
      if (*p_ == ',') {
        ++p_;
        SkipWs();
        continue;
      }
      if (*p_ != ']') return false;
      ++p_;
      return true;
    }
  }

  static bool Continuation(unsigned char c) { return c >= 0x80 && c <= 0xBF; }

  // The string at p_ (a '"'), decoded; well-formed UTF-8 as nlohmann's lexer checks it; no
  // control characters; the two-character escapes only.
  bool String(std::string* out) {
    ++p_;  // '"'
    const char* run = p_;  // start of the bytes not yet copied
    while (true) {
      if (p_ >= end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out->append(run, p_);
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c < 0x80) {
        if (c != '\\') {
          ++p_;
          continue;
        }
        out->append(run, p_);
        if (end_ - p_ < 2) return false;
        char decoded;
        switch (p_[1]) {
          case '"': decoded = '"'; break;
          case '\\': decoded = '\\'; break;
          case '/': decoded = '/'; break;
          case 'b': decoded = '\b'; break;
          case 'f': decoded = '\f'; break;
          case 'n': decoded = '\n'; break;
          case 'r': decoded = '\r'; break;
          case 't': decoded = '\t'; break;
          default: return false;  // \u and anything else: the SAX path
        }
        out->push_back(decoded);
        p_ += 2;
        run = p_;
        continue;
      }
      // UTF-8 (RFC 3629, the ranges of nlohmann's lexer).
      const size_t left = static_cast<size_t>(end_ - p_);
      auto at = [&](size_t i) { return static_cast<unsigned char>(p_[i]); };
      size_t n = 0;
      if (c >= 0xC2 && c <= 0xDF) {
        n = left >= 2 && Continuation(at(1)) ? 2 : 0;
      } else if (c == 0xE0) {
        n = left >= 3 && at(1) >= 0xA0 && at(1) <= 0xBF && Continuation(at(2)) ? 3 : 0;
      } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        n = left >= 3 && Continuation(at(1)) && Continuation(at(2)) ? 3 : 0;
      } else if (c == 0xED) {
        n = left >= 3 && at(1) >= 0x80 && at(1) <= 0x9F && Continuation(at(2)) ? 3 : 0;
      } else if (c == 0xF0) {
        n = left >= 4 && at(1) >= 0x90 && at(1) <= 0xBF && Continuation(at(2)) &&
                    Continuation(at(3))
                ? 4
                : 0;
      } else if (c >= 0xF1 && c <= 0xF3) {
        n = left >= 4 && Continuation(at(1)) && Continuation(at(2)) && Continuation(at(3)) ? 4 : 0;
      } else if (c == 0xF4) {
        n = left >= 4 && at(1) >= 0x80 && at(1) <= 0x8F && Continuation(at(2)) &&
                    Continuation(at(3))
                ? 4
                : 0;
      }
      if (n == 0) return false;
      p_ += n;
    }
  }

  static bool Digit(char c) { return c >= '0' && c <= '9'; }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?: an integer that fits in 64 bits (negative:
  // int64, else uint64, as nlohmann's lexer types them), or a raw number of the text as written.
  bool Number(json* out) {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ >= end_ || !Digit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && Digit(*p_)) ++p_;
    }
    const char* int_end = p_;
    bool is_float = false, exponent = false;
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ >= end_ || !Digit(*p_)) return false;
      while (p_ < end_ && Digit(*p_)) ++p_;
      is_float = true;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || !Digit(*p_)) return false;
      while (p_ < end_ && Digit(*p_)) ++p_;
      is_float = exponent = true;
    }
    const char* digits = negative ? start + 1 : start;
    if (is_float) {
      std::string raw;
      raw.reserve(static_cast<size_t>(p_ - start) + 1);
      raw.push_back(kRawNumberMark);
      raw.append(start, p_);
      // nlohmann refuses a number whose double is infinite (1e400). Without an exponent and
      // with at most 308 digits before the point it is below 1e308: finite.
      if (exponent || int_end - digits > 308) {
        if (!std::isfinite(std::strtod(raw.c_str() + 1, nullptr))) return false;
      }
      *out = json(std::move(raw));
      return true;
    }
    // At most 19 digits always fit (the SAX path takes longer ones, and any that overflow).
    if (int_end - digits > 19) return false;
    uint64_t v = 0;
    for (const char* d = digits; d < int_end; ++d) v = v * 10 + static_cast<uint64_t>(*d - '0');
    if (negative) {
      if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
      *out = json(static_cast<json::number_integer_t>(v == static_cast<uint64_t>(INT64_MAX) + 1
                                                          ? INT64_MIN
                                                          : -static_cast<int64_t>(v)));
    } else {
      *out = json(static_cast<json::number_unsigned_t>(v));
    }
    return true;
  }

  const char* p_;
  const char* end_;
};

bool IsRawNumber(const json& j) {
  if (!j.is_string()) return false;
  const auto& s = j.get_ref<const std::string&>();
  return !s.empty() && s.front() == kRawNumberMark;
}

}  // namespace

namespace json_exact_internal {

bool ParseFast(std::string_view text, nlohmann::json* out) { return FastParser(text).Parse(out); }

Result<nlohmann::json> ParseSax(std::string_view text) {
  ExactDomBuilder builder;
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const json::exception& e) {
    return Status::Invalid("invalid JSON: " + DescribeParseError(e.what()));
  }
  if (!ok) {
    if (!builder.error().ok()) return builder.error();
    return Status::Invalid("invalid JSON");
  }
  return std::move(builder.root());
}

}  // namespace json_exact_internal

Result<nlohmann::json> ParseJsonExact(std::string_view text) {
  json fast;
  if (json_exact_internal::ParseFast(text, &fast)) return fast;
  return json_exact_internal::ParseSax(text);
}

bool IsJsonNumber(const nlohmann::json& j) { return j.is_number() || IsRawNumber(j); }

std::string JsonNumberText(const nlohmann::json& j) {
  if (IsRawNumber(j)) return j.get_ref<const std::string&>().substr(1);
  return j.dump();
}

const char* JsonTypeName(const nlohmann::json& j) {
  if (IsRawNumber(j)) return "number";
  return j.type_name();
}

}  // namespace cjd
