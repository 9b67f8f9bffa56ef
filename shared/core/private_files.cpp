#include "shared/core/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

namespace cjd {
namespace {

Status Fail(const std::string& what, const std::string& path) {
  return Status(Code::kIo, "cannot " + what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Status WriteSecretFile(const std::string& path, const std::string& content) {
  std::string tmpl = path + ".tmp-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  // mkstemp: O_CREAT | O_EXCL, mode 0600 whatever the umask.
  const int fd = ::mkstemp(name.data());
  if (fd < 0) return Fail("create a temporary file for", path);
  const std::string tmp(name.data());
  auto abandon = [&](const std::string& what) {
    Status st = Fail(what, path);
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  };
  if (::fchmod(fd, 0600) != 0) return abandon("set the mode of");
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return abandon("write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon("sync");
  if (::close(fd) != 0) {
    Status st = Fail("close", path);
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = Fail("rename a temporary file to", path);
    ::unlink(tmp.c_str());
    return st;
  }
  // The rename is durable only once the directory entry is.
  return SyncDirectoryOf(path);
}

Status SyncDirectoryOf(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Fail("open the directory of", path);
  const int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return Fail("sync the directory of", path);
  return Status::Ok();
}

void RestrictFileCreation() { ::umask(077); }

}  // namespace cjd
