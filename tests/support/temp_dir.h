// TempDir: a fresh directory for one test, deleted with everything in it when the owner goes
// away. Set CJD_KEEP_TMP=1 to keep it (its path is printed to stderr) for a post-mortem.
#pragma once

#include <filesystem>
#include <string>

namespace cjd::testing {

class TempDir {
 public:
  // Creates "<$TMPDIR or /tmp>/<prefix>XXXXXX" (mode 0700). Throws std::runtime_error on failure.
  explicit TempDir(const std::string& prefix = "cjd-test-");
  ~TempDir();

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;

  const std::filesystem::path& path() const { return path_; }
  // path() / name. Creates nothing.
  std::filesystem::path Join(const std::string& name) const { return path_ / name; }

 private:
  void Remove() noexcept;

  std::filesystem::path path_;  // empty once moved from
};

}  // namespace cjd::testing
