#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace cjd::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Closes an fd when it goes out of scope (unless released).
struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// argv[0] as an absolute or relative path to execute: kept if it contains a '/', else searched
// in PATH (done in the parent: the forked child only makes async-signal-safe calls).
std::string Resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::vector<std::string> MergedEnv(const Process::Env& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// In the child: sends errno to the parent through `err_fd` and exits with 127.
[[noreturn]] void ChildFail(int err_fd) {
  int e = errno;
  ssize_t ignored = ::write(err_fd, &e, sizeof e);
  (void)ignored;
  ::_exit(127);
}

// In the child, after fork: only async-signal-safe calls. Reports errno on `err_fd` and exits
// with 127 if anything fails.
[[noreturn]] void ChildExec(pid_t parent, int out_fd, int err_fd, int max_fd, const char* file,
                            char* const* argv, char* const* envp) {
  auto fail = [err_fd]() { ChildFail(err_fd); };
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail();
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) fail();
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // EINVAL for KILL/STOP

  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || ::dup2(null_fd, 0) < 0) fail();
  if (::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) fail();
  // Every other fd gets FD_CLOEXEC, so exec drops them (err_fd stays usable until then).
  if (::syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) != 0) {
    for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  ::execve(file, argv, envp);
  ChildFail(err_fd);
}

// Starts argv with stdout+stderr on `out_fd`. Returns the pid or throws std::runtime_error.
pid_t Spawn(const std::vector<std::string>& argv_in, int out_fd, const Process::Env& extra_env) {
  if (argv_in.empty()) throw std::runtime_error("Process::Start: empty argv");
  std::string file = Resolve(argv_in[0]);
  if (file.empty()) throw std::runtime_error("Process::Start: " + argv_in[0] + " not found in PATH");
  std::vector<std::string> argv_strings = argv_in;
  std::vector<std::string> env_strings = MergedEnv(extra_env);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);
  rlimit nofile{};
  int max_fd = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    max_fd = static_cast<int>(std::min<rlim_t>(nofile.rlim_cur, 1 << 20));
  }

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error(Errno("pipe2"));
  Fd err_read{pipe_fds[0]};
  Fd err_write{pipe_fds[1]};
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(Errno("fork"));
  if (pid == 0) {
    ChildExec(parent, out_fd, err_write.fd, max_fd, file.c_str(), argv.data(), envp.data());
  }
  err_write.Close();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_read.fd, &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw std::runtime_error("Process::Start: cannot execute " + file + ": " +
                             std::strerror(child_errno));
  }
  return pid;
}

}  // namespace

Process::~Process() { KillNow(); }

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      log_path_(std::move(other.log_path_)),
      exit_status_(std::exchange(other.exit_status_, std::nullopt)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    KillNow();
    pid_ = std::exchange(other.pid_, -1);
    log_path_ = std::move(other.log_path_);
    exit_status_ = std::exchange(other.exit_status_, std::nullopt);
  }
  return *this;
}

Process Process::Start(const std::vector<std::string>& argv, const std::filesystem::path& log_path,
                       const Env& extra_env) {
  const std::string target = log_path.empty() ? std::string("/dev/null") : log_path.string();
  Fd out{::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)};
  if (out.fd < 0) throw std::runtime_error(Errno("Process::Start: open " + target));
  return Process(Spawn(argv, out.fd, extra_env), log_path);
}

bool Process::Reap(int flags) {
  if (exit_status_) return true;
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, flags);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_status_ = DecodeStatus(status);
    return true;
  }
  if (r < 0 && errno == ECHILD) {  // reaped elsewhere (someone else's waitpid(-1)): unknown
    exit_status_ = -1;
    return true;
  }
  return false;
}

bool Process::Running() { return pid_ > 0 && !Reap(WNOHANG); }

bool Process::Signal(int sig) {
  if (!Running()) return false;
  return ::kill(pid_, sig) == 0;
}

std::optional<int> Process::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_status_;
  const auto deadline = SteadyClock::now() + timeout;
  auto sleep = std::chrono::milliseconds(1);
  while (!Reap(WNOHANG)) {
    const auto now = SteadyClock::now();
    if (now >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::min<SteadyClock::duration>(sleep, deadline - now));
    sleep = std::min(sleep * 2, std::chrono::milliseconds(20));
  }
  return exit_status_;
}

std::optional<int> Process::Terminate(std::chrono::milliseconds timeout) {
  if (!Running()) return exit_status_;
  ::kill(pid_, SIGTERM);
  if (auto status = WaitExit(timeout)) return status;
  Kill9();
  return std::nullopt;
}

std::optional<int> Process::Kill9() {
  if (!Running()) return exit_status_;
  ::kill(pid_, SIGKILL);
  return WaitExit(std::chrono::seconds(10));
}

void Process::KillNow() noexcept {
  if (pid_ <= 0 || exit_status_) return;
  Kill9();
}

std::string Process::LogTail(size_t max_bytes) const {
  std::string all = ReadFile(log_path_);
  if (all.size() > max_bytes) all.erase(0, all.size() - max_bytes);
  return all;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
               std::string* output, const Process::Env& extra_env) {
  std::string sink;
  std::string& out = output != nullptr ? *output : sink;
  out.clear();
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    out = Errno("RunCommand: pipe2");
    return -1;
  }
  Fd read_end{pipe_fds[0]};
  Fd write_end{pipe_fds[1]};
  Process child;
  try {
    child = Process(Spawn(argv, write_end.fd, extra_env), {});
  } catch (const std::exception& e) {
    out = e.what();
    return -1;
  }
  write_end.Close();

  // Read until EOF. If the child exits while a grandchild keeps the pipe open, stop after
  // draining what is already there; the deadline bounds everything.
  const auto deadline = SteadyClock::now() + timeout;
  char buf[4096];
  bool exited = false;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - SteadyClock::now());
    if (left.count() <= 0) break;
    pollfd p{read_end.fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 50)));
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0) {
      ssize_t n = ::read(read_end.fd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || errno != EINTR) break;  // EOF or error
      continue;
    }
    if (exited) break;                     // exited and nothing more to read
    if (!child.Running()) exited = true;  // one more poll round to drain
  }
  const auto left = std::max(std::chrono::milliseconds(0),
                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                 deadline - SteadyClock::now()));
  if (auto status = child.WaitExit(left)) return *status;
  child.Kill9();
  return -1;
}

}  // namespace cjd::testing
