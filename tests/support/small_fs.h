// SmallFilesystem: a small tmpfs mounted on a fresh folder, for full-disk tests. Mounting needs
// root (CAP_SYS_ADMIN); where it is not permitted, Mount() returns nullptr and says why, so the
// test can GTEST_SKIP() with a clear message.
//
//   std::string why;
//   auto fs = SmallFilesystem::Mount(dir.Join("data"), 2 << 20, &why);
//   if (!fs) GTEST_SKIP() << why;
//   fs->Fill(64 << 10);   // leave ~64 KiB free
//   fs->Release();        // delete the filler: space returns
//
// The folder is unmounted (lazily, so a process still holding files there cannot block it) when
// the owner goes away. Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace cjd::testing {

class SmallFilesystem {
 public:
  // Creates `dir` (must not be a mount point yet) and mounts a tmpfs of `bytes` on it.
  static std::unique_ptr<SmallFilesystem> Mount(const std::filesystem::path& dir, int64_t bytes,
                                                std::string* why_not);
  ~SmallFilesystem();
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  const std::filesystem::path& path() const { return dir_; }
  // Bytes an unprivileged write may still use (statvfs f_bavail * f_frsize); -1 on error.
  int64_t FreeBytes() const;
  // Writes a filler file (path()/.filler-N) until at most `leave_bytes` are free. Returns the
  // bytes written. Call again to fill further; Release() deletes every filler.
  int64_t Fill(int64_t leave_bytes);
  void Release();

 private:
  explicit SmallFilesystem(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
  int fillers_ = 0;
};

}  // namespace cjd::testing
