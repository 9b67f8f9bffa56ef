// Process: a real child program started by a test (Mosquitto, cjd-agent, cjd-hub, cjdctl).
//
// stdout and stderr are appended to a log file; stdin is /dev/null. The child starts with a
// clean signal mask and default signal dispositions, inherits no file descriptor but 0-2, and is
// sent SIGKILL by the kernel if the thread that started it exits (PR_SET_PDEATHSIG), so a test
// that crashes leaves no stray brokers holding ports. Consequence: start processes from a thread
// that outlives them (the test body's thread is fine).
//
// Threading: a Process is used from one thread at a time. Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cjd::testing {

class Process {
 public:
  using Env = std::map<std::string, std::string>;

  // An empty handle: pid() == -1, Running() == false. Assign a started one to it.
  Process() = default;
  // SIGKILLs and reaps the child if it is still running.
  ~Process();

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;  // kills what this held first

  // Starts argv[0] (a path, or a name searched in PATH) with argv[1..]. The environment is the
  // caller's plus `extra_env` (which overrides). stdout+stderr are appended to `log_path`
  // (created if missing; empty path = /dev/null). Throws std::runtime_error if the program
  // cannot be executed (not found, not executable, ...), with the reason.
  static Process Start(const std::vector<std::string>& argv,
                       const std::filesystem::path& log_path, const Env& extra_env = {});

  pid_t pid() const { return pid_; }
  const std::filesystem::path& log_path() const { return log_path_; }

  // True while the child has not exited. Reaps it (and records its status) once it has.
  bool Running();
  // Sends `sig`. False if the child has already exited and been reaped (never signals a
  // recycled pid) or kill() fails.
  bool Signal(int sig);

  // Waits up to `timeout` for the child to exit. Returns its exit code, or 128+N if signal N
  // killed it; std::nullopt if it is still running at the deadline (it is left running).
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);

  // SIGTERM, then waits up to `timeout`. Returns the exit status as WaitExit does. If the child
  // is still alive at the deadline it is SIGKILLed and reaped, and the result is std::nullopt:
  // a failed graceful stop. If it had already exited, returns that earlier status.
  std::optional<int> Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // SIGKILL and reap (bounded at 10 s). Returns the exit status (normally 128+9 = 137), or the
  // earlier status if it had already exited; std::nullopt only if it could not be reaped.
  std::optional<int> Kill9();

  // The exit status once the child has been reaped, else std::nullopt. Does not wait.
  std::optional<int> exit_status() const { return exit_status_; }

  // The last `max_bytes` of the log file, for failure messages: EXPECT_...() << p.LogTail().
  std::string LogTail(size_t max_bytes = 4096) const;

 private:
  friend int RunCommand(const std::vector<std::string>&, std::chrono::milliseconds, std::string*,
                        const Env&);
  Process(pid_t pid, std::filesystem::path log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  bool Reap(int flags);  // waitpid(pid_, flags); true once reaped (exit_status_ set)
  void KillNow() noexcept;

  pid_t pid_ = -1;
  std::filesystem::path log_path_;
  std::optional<int> exit_status_;  // set once reaped
};

// Runs `argv` to completion (bounded by `timeout`), capturing stdout and stderr together into
// `*output` (if non-null). Returns the exit code (128+N if killed by signal N), or -1 if it could
// not be started (reason in *output) or did not finish in time (it is then SIGKILLed).
int RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
               std::string* output, const Process::Env& extra_env = {});

// Reads a whole file ("" if it cannot be read).
std::string ReadFile(const std::filesystem::path& path);

}  // namespace cjd::testing
