#include "tests/support/postgres.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "tests/support/ports.h"
#include "tests/support/wait.h"

namespace cjd::testing {
namespace {

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;
constexpr const char* kSetpriv = "/usr/bin/setpriv";

bool RunningAsRoot() { return ::geteuid() == 0; }

// argv run as the cluster's owner.
std::vector<std::string> AsOwner(bool as_nobody, std::vector<std::string> argv) {
  if (!as_nobody) return argv;
  std::vector<std::string> out = {kSetpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                  "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace

std::string Postgres::BinDir() {
  std::error_code ec;
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const auto bin = entry.path() / "bin";
    if (::access((bin / "initdb").c_str(), X_OK) == 0 &&
        ::access((bin / "postgres").c_str(), X_OK) == 0) {
      found.push_back(bin.string());
    }
  }
  if (found.empty()) return {};
  // The newest major version (numeric order: "9.6" < "15").
  std::sort(found.begin(), found.end(), [](const std::string& a, const std::string& b) {
    auto ver = [](const std::string& p) {
      const auto v = std::filesystem::path(p).parent_path().filename().string();
      return std::strtod(v.c_str(), nullptr);
    };
    return ver(a) < ver(b);
  });
  return found.back();
}

bool Postgres::Available() {
  if (BinDir().empty()) return false;
  return !RunningAsRoot() || ::access(kSetpriv, X_OK) == 0;
}

std::string Postgres::UnavailableReason() {
  if (BinDir().empty()) {
    return "PostgreSQL's server is not installed (no /usr/lib/postgresql/N/bin/initdb); install "
           "it with: apt-get install postgresql (packaging/install-deps.sh --tests does)";
  }
  return "running as root and /usr/bin/setpriv (util-linux) is missing: PostgreSQL refuses to run "
         "as root";
}

Postgres Postgres::Start() {
  if (!Available()) throw std::runtime_error(UnavailableReason());
  Postgres pg;
  pg.as_nobody_ = RunningAsRoot();
  char tmpl[] = "/tmp/cjd-pg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  pg.root_ = tmpl;
  if (pg.as_nobody_ && ::chown(tmpl, kNobody, kNogroup) != 0) {
    throw std::runtime_error(std::string("chown of ") + tmpl + " to nobody failed");
  }
  const std::string bin = BinDir();
  const std::string data = (pg.root_ / "data").string();
  std::string out;
  const int rc = RunCommand(AsOwner(pg.as_nobody_, {bin + "/initdb", "-D", data, "-U", "cjd",
                                                    "--auth=trust", "-E", "UTF8", "--no-locale",
                                                    "--no-sync"}),
                            std::chrono::seconds(120), &out);
  if (rc != 0) throw std::runtime_error("initdb failed (exit " + std::to_string(rc) + "):\n" + out);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    pg.port_ = FreeLoopbackPort();
    if (pg.Launch()) return pg;
    if (std::chrono::steady_clock::now() >= deadline) break;
    (void)pg.process_.Kill9();  // most likely lost the race for the port: another one
  }
  throw std::runtime_error("PostgreSQL did not start within 30 s\n" + pg.Diagnostics());
}

bool Postgres::Launch() {
  const std::string bin = BinDir();
  const std::string data = (root_ / "data").string();
  // The log: a file the owner can write (root's files would not be); appended to on a Resume.
  std::vector<std::string> argv = {bin + "/postgres", "-D", data, "-p", std::to_string(port_),
                                   "-k", root_.string(), "-c", "listen_addresses=127.0.0.1",
                                   "-c", "max_connections=60", "-c", "shared_buffers=32MB",
                                   "-c", "logging_collector=off"};
  // Settings for an investigation (benchmarks), e.g.
  // CJD_PG_SETTINGS="shared_preload_libraries=pg_stat_statements track_io_timing=on".
  if (const char* extra = std::getenv("CJD_PG_SETTINGS"); extra != nullptr) {
    std::istringstream words(extra);
    for (std::string w; words >> w;) argv.insert(argv.end(), {"-c", w});
  }
  process_ = Process::Start(AsOwner(as_nobody_, argv), root_ / "postgres.out");
  if (as_nobody_) (void)::chown((root_ / "postgres.out").c_str(), kNobody, kNogroup);
  const bool up = WaitUntil(
      [&] {
        if (!process_.Running()) return true;
        std::string ignored;
        return RunCommand({bin + "/pg_isready", "-h", "127.0.0.1", "-p", std::to_string(port_),
                           "-U", "cjd", "-d", "postgres"},
                          std::chrono::seconds(5), &ignored) == 0;
      },
      std::chrono::seconds(20), std::chrono::milliseconds(50));
  return up && process_.Running();
}

void Postgres::Stop() {
  if (process_.pid() <= 0 || !process_.Running()) return;
  process_.Signal(SIGINT);
  if (!process_.WaitExit(std::chrono::seconds(10))) (void)process_.Kill9();
}

void Postgres::Resume() {
  if (process_.pid() > 0 && process_.Running()) return;
  // A killed server's children may still hold the port and shared memory for a moment.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!Launch()) {
    (void)process_.Kill9();
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("PostgreSQL did not start again within 30 s\n" + Diagnostics());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Postgres::~Postgres() {
  if (root_.empty()) return;  // moved from
  if (process_.pid() > 0 && process_.Running()) {
    process_.Signal(SIGINT);  // fast shutdown: disconnects clients, no waiting for them
    if (!process_.WaitExit(std::chrono::seconds(10))) (void)process_.Kill9();
  }
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

std::string Postgres::Url(const std::string& db) const {
  return "postgresql://cjd@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

std::string Postgres::Psql(const std::string& sql, const std::string& db) const {
  std::string out;
  const int rc = RunCommand({BinDir() + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                             "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "cjd", "-d",
                             db, "-c", sql},
                            std::chrono::seconds(60), &out);
  if (rc != 0) throw std::runtime_error("psql failed (exit " + std::to_string(rc) + "): " + out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string Postgres::CreateDatabase(const std::string& name) {
  Psql("CREATE DATABASE \"" + name + "\"");
  return Url(name);
}

namespace {

// The state letter and parent of a process, from /proc/PID/stat ("pid (comm) state ppid ...");
// false when it is gone.
bool StateOf(pid_t pid, char* state, long* ppid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(stat.substr(close + 1));
  return static_cast<bool>(rest >> *state >> *ppid);
}

// Gone, or a zombie waiting for whoever adopted it.
bool Gone(pid_t pid) {
  char state = 0;
  long ppid = 0;
  return !StateOf(pid, &state, &ppid) || state == 'Z' || state == 'X';
}

// The processes whose parent is `parent`.
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const auto pid = static_cast<pid_t>(std::stol(name));
    char state = 0;
    long ppid = 0;
    if (StateOf(pid, &state, &ppid) && ppid == parent) out.push_back(pid);
  }
  return out;
}

}  // namespace

void Postgres::Kill() {
  const pid_t postmaster = process_.pid();
  if (postmaster <= 0 || !process_.Running()) return;
  // Every server process dies at once, as in a crash of the machine. SIGKILL to the postmaster
  // alone would leave its backends running until each notices, so a statement sent right after
  // could still succeed. Stopped first, the postmaster cannot start another child meanwhile.
  ::kill(postmaster, SIGSTOP);
  const std::vector<pid_t> children = ChildrenOf(postmaster);
  for (pid_t child : children) ::kill(child, SIGKILL);
  (void)process_.Kill9();
  // Not this process's children: wait until they are gone (they hold the port and shared memory).
  if (!WaitUntil([&] { return std::all_of(children.begin(), children.end(), Gone); },
                 std::chrono::seconds(10), std::chrono::milliseconds(10))) {
    throw std::runtime_error("PostgreSQL: a server process outlived SIGKILL for 10 s\n" +
                             Diagnostics());
  }
}

std::string Postgres::Diagnostics() const {
  return "postgres output:\n" + ReadFile(root_ / "postgres.out");
}

}  // namespace cjd::testing
