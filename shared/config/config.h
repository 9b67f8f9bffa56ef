// TOML config loading with errors that name the key ("http.listen: expected a string").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/core/status.h"

namespace cjd {

struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;
};
// "127.0.0.1:8080", "localhost:0", "[::1]:9000". Port 0 means "any free port".
Result<HostPort> ParseHostPort(std::string_view text);

// Reads typed values from a TOML document by dotted key path. Getters with a default return it
// when the key is missing; Require* record an error when it is missing. The first error is kept
// in status(); later calls still return defaults so a loader can read everything, then check once.
class ConfigReader {
 public:
  static Result<ConfigReader> LoadFile(const std::string& path);
  static Result<ConfigReader> LoadString(std::string_view toml_text, std::string dir = ".");
  ConfigReader(ConfigReader&&) noexcept;
  ConfigReader& operator=(ConfigReader&&) noexcept;
  ~ConfigReader();

  std::string String(std::string_view key, std::string def);
  std::string RequireString(std::string_view key);
  int64_t Int(std::string_view key, int64_t def, int64_t min, int64_t max);
  // A number (TOML float or integer) within [min, max].
  double Double(std::string_view key, double def, double min, double max);
  bool Bool(std::string_view key, bool def);
  HostPort Address(std::string_view key, std::string_view def);
  // A path, resolved against the directory of the config file when relative.
  std::string Path(std::string_view key, std::string_view def);
  bool Has(std::string_view key) const;

  const Status& status() const { return status_; }
  const std::string& dir() const { return dir_; }

 private:
  struct Impl;
  ConfigReader(std::unique_ptr<Impl> impl, std::string dir);
  void Fail(std::string_view key, std::string message);
  std::unique_ptr<Impl> impl_;
  std::string dir_;
  Status status_;
};

}  // namespace cjd
