// ParseJsonExact: nlohmann's SAX parser with a DOM builder that keeps every non-integer number as
// its original text (see json_exact.h), rejects duplicate object keys and limits nesting depth.
#include "shared/event/json_exact.h"

#include <cstddef>
#include <cstdint>
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

bool IsRawNumber(const json& j) {
  if (!j.is_string()) return false;
  const auto& s = j.get_ref<const std::string&>();
  return !s.empty() && s.front() == kRawNumberMark;
}

}  // namespace

Result<nlohmann::json> ParseJsonExact(std::string_view text) {
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
