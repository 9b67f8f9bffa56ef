// Status and Result<T>: errors are values inside the code (STYLE habit 3). Exceptions from
// third-party libraries are caught at the edges and converted into a Status.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace cjd {

enum class Code {
  kOk = 0,
  kInvalid,       // bad input; `field` names the offending field path
  kNotFound,
  kUnauthorized,
  kTooLarge,      // a body or frame over its limit
  kFull,          // a budget (e.g. the outbox) has no room
  kConflict,
  kIo,            // file, socket or database failure
  kCrypto,        // a seal that does not open, a bad key
  kUnavailable,   // try again later
  kInternal,
};

const char* CodeName(Code code);

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  static Status Ok() { return {}; }
  static Status Invalid(std::string message, std::string field = {}) {
    return {Code::kInvalid, std::move(message), std::move(field)};
  }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Io(std::string m) { return {Code::kIo, std::move(m)}; }
  static Status Crypto(std::string m) { return {Code::kCrypto, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The path of the offending field (e.g. "[3].order.items[0].unit_price"), if any.
  const std::string& field() const { return field_; }
  std::string ToString() const;

  // Prefixes the field path, used while descending into nested objects and arrays.
  Status WithFieldPrefix(const std::string& prefix) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string field_;
};

// Result<T>: either a value or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace cjd

#define CJD_RETURN_IF_ERROR(expr)          \
  do {                                     \
    ::cjd::Status _cjd_st = (expr);        \
    if (!_cjd_st.ok()) return _cjd_st;     \
  } while (0)
