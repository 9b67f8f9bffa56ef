#include "tests/support/small_fs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace cjd::testing {

std::unique_ptr<SmallFilesystem> SmallFilesystem::Mount(const std::filesystem::path& dir,
                                                        int64_t bytes, std::string* why_not) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    *why_not = "cannot create " + dir.string() + ": " + ec.message();
    return nullptr;
  }
  const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    *why_not = "cannot mount a " + std::to_string(bytes) + "-byte tmpfs on " + dir.string() +
               " (" + std::strerror(errno) +
               "): full-disk tests need root or CAP_SYS_ADMIN (mount -t tmpfs)";
    return nullptr;
  }
  return std::unique_ptr<SmallFilesystem>(new SmallFilesystem(dir));
}

SmallFilesystem::~SmallFilesystem() { ::umount2(dir_.c_str(), MNT_DETACH); }

int64_t SmallFilesystem::FreeBytes() const {
  struct statvfs fs {};
  if (::statvfs(dir_.c_str(), &fs) != 0) return -1;
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

int64_t SmallFilesystem::Fill(int64_t leave_bytes) {
  const std::string path = (dir_ / (".filler-" + std::to_string(fillers_++))).string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  const std::vector<char> block(4096, 'x');
  int64_t written = 0;
  // Bounded: a 4 KiB write at a time until the free space is at most leave_bytes, or ENOSPC.
  for (int i = 0; i < (1 << 20); ++i) {
    const int64_t free_bytes = FreeBytes();
    if (free_bytes < 0 || free_bytes <= leave_bytes) break;
    const size_t n = static_cast<size_t>(std::min<int64_t>(4096, free_bytes - leave_bytes));
    const ssize_t w = ::write(fd, block.data(), std::max<size_t>(n, 1));
    if (w <= 0) break;
    written += w;
  }
  ::fsync(fd);
  ::close(fd);
  return written;
}

void SmallFilesystem::Release() {
  for (int i = 0; i < fillers_; ++i) {
    std::error_code ec;
    std::filesystem::remove(dir_ / (".filler-" + std::to_string(i)), ec);
  }
  fillers_ = 0;
}

}  // namespace cjd::testing
