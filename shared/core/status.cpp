#include "shared/core/status.h"

namespace cjd {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalid: return "invalid";
    case Code::kNotFound: return "not_found";
    case Code::kUnauthorized: return "unauthorized";
    case Code::kTooLarge: return "too_large";
    case Code::kFull: return "full";
    case Code::kConflict: return "conflict";
    case Code::kIo: return "io";
    case Code::kCrypto: return "crypto";
    case Code::kUnavailable: return "unavailable";
    case Code::kInternal: return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s = CodeName(code_);
  s += ": ";
  s += message_;
  if (!field_.empty()) s += " (field " + field_ + ")";
  return s;
}

Status Status::WithFieldPrefix(const std::string& prefix) const {
  if (ok()) return *this;
  std::string f = prefix;
  if (!field_.empty()) {
    if (!f.empty() && field_.front() != '[') f += '.';
    f += field_;
  }
  return {code_, message_, std::move(f)};
}

}  // namespace cjd
