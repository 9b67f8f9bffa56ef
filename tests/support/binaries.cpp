#include "tests/support/binaries.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#ifndef CJD_DEFAULT_SOURCE_DIR
#define CJD_DEFAULT_SOURCE_DIR ""
#endif
#ifndef CJD_DEFAULT_BINARY_DIR
#define CJD_DEFAULT_BINARY_DIR ""
#endif

namespace cjd::testing {
namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return (value != nullptr && *value != '\0') ? value : fallback;
}

}  // namespace

std::string SourceDir() { return EnvOr("CJD_SOURCE_DIR", CJD_DEFAULT_SOURCE_DIR); }
std::string BinaryDir() { return EnvOr("CJD_BINARY_DIR", CJD_DEFAULT_BINARY_DIR); }

std::string AgentBinary() { return BinaryDir() + "/agent/cjd-agent"; }
std::string HubBinary() { return BinaryDir() + "/hub/cjd-hub"; }
std::string CjdctlBinary() { return BinaryDir() + "/tools/cjdctl/cjdctl"; }

std::string DatasetDir(const std::string& name) {
  const std::string source = SourceDir();
  if (source.empty() || name.empty()) return {};
  std::filesystem::path dir =
      (std::filesystem::path(source) / ".." / "shared" / "datasets" / name).lexically_normal();
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return {};
  return dir.string();
}

}  // namespace cjd::testing
