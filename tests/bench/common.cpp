#include "tests/bench/common.h"

#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/binaries.h"
#include "tests/support/process.h"

#ifndef CJD_BENCH_BUILD_TYPE
#define CJD_BENCH_BUILD_TYPE "unknown"
#endif

namespace cjd::bench {
namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted.store(true); }

struct Product {
  const char* sku;
  const char* price;
  const char* description;
};

// A small grocery and drugstore catalogue.
constexpr Product kCatalogue[] = {
    {"40063813", "1.29", "Milk 1L"},
    {"40016863", "2.49", "Rye bread"},
    {"40084004", "0.99", "Chocolate"},
    {"43115016", "3.79", "Espresso 250g"},
    {"40058088", "4.95", "Shower gel"},
    {"40004170", "1.89", "Yogurt 500g"},
    {"41044200", "0.45", "Banana"},
    {"43115964", "2.19", "Spaghetti"},
    {"40666002", "6.49", "Orange juice"},
    {"42505192", "12.99", "Detergent"},
    {"40023590", "1.15", "Chickpeas"},
    {"43888601", "3.29", "Pizza"},
    {"40082581", "0.79", "Lemons"},
    {"40171002", "2.89", "Pretzels"},
    {"42601072", "8.99", "Riesling"},
    {"43056154", "1.59", "Butter"},
};
constexpr size_t kProducts = sizeof(kCatalogue) / sizeof(kCatalogue[0]);

std::string Trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  const auto e = s.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, e - b + 1);
}

std::string FirstLineOf(const std::string& text) {
  const auto nl = text.find('\n');
  return Trim(nl == std::string::npos ? text : text.substr(0, nl));
}

}  // namespace

uint64_t SplitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// ---- interruption -----------------------------------------------------------------------------

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  // A write to a closed socket must be an error, not a signal.
  signal(SIGPIPE, SIG_IGN);
}

bool InterruptRequested() { return g_interrupted.load(); }

void CheckInterrupted() {
  if (g_interrupted.load()) throw Interrupted();
}

void SleepFor(std::chrono::milliseconds d) {
  const auto end = SteadyClock::now() + d;
  while (true) {
    CheckInterrupted();
    const auto now = SteadyClock::now();
    if (now >= end) return;
    std::this_thread::sleep_for(std::min<SteadyClock::duration>(end - now, Ms(50)));
  }
}

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// ---- events -----------------------------------------------------------------------------------

EventFactory::EventFactory(std::string store_id, std::string id_prefix, uint64_t seed)
    : store_id_(std::move(store_id)), id_prefix_(std::move(id_prefix)), seed_(seed) {}

std::string EventFactory::Make(uint64_t index) const {
  uint64_t r = SplitMix(seed_ ^ (index * 0xD1B54A32D192ED03ull));
  auto next = [&r](uint64_t bound) {
    r = SplitMix(r);
    return r % bound;
  };
  char buf[256];
  std::string s;
  s.reserve(640);
  // Sales spread over a trading day (08:00-20:00), in Central European Time.
  const uint64_t sec = (index * 7) % (12 * 3600);
  std::snprintf(buf, sizeof buf,
                "{\"type\":\"transaction\",\"event_id\":\"%s-%010llu\","
                "\"occurred_at\":\"2026-03-14T%02llu:%02llu:%02llu.%03llu+01:00\","
                "\"store_id\":\"%s\",",
                id_prefix_.c_str(), static_cast<unsigned long long>(index),
                static_cast<unsigned long long>(8 + sec / 3600),
                static_cast<unsigned long long>(sec / 60 % 60),
                static_cast<unsigned long long>(sec % 60),
                static_cast<unsigned long long>(next(1000)), store_id_.c_str());
  s += buf;
  std::snprintf(buf, sizeof buf,
                "\"customer\":{\"loyalty_id\":\"LOY-%08llu\"},"
                "\"order\":{\"order_id\":\"R042-%02llu-%08llu\",\"currency\":\"EUR\",\"items\":[",
                static_cast<unsigned long long>(next(100'000'000)),
                static_cast<unsigned long long>(1 + next(8)),
                static_cast<unsigned long long>(index));
  s += buf;
  const size_t n_items = 3 + next(3);  // 3..5
  const size_t first = next(kProducts);
  for (size_t i = 0; i < n_items; ++i) {
    const Product& p = kCatalogue[(first + i * 5) % kProducts];
    const uint64_t qty = 1 + (next(4) == 0 ? next(3) + 1 : 0);
    // A description on about a third of the lines (loose items, promotions), as tills send them.
    const bool described = next(3) == 0;
    std::snprintf(buf, sizeof buf,
                  "%s{\"sku\":\"%s\",\"quantity\":%llu,\"unit_price\":\"%s\"%s%s%s%s}",
                  i == 0 ? "" : ",", p.sku, static_cast<unsigned long long>(qty), p.price,
                  described ? ",\"description\":\"" : "", described ? p.description : "",
                  described ? "\"" : "", next(5) == 0 ? ",\"offer_id\":\"W11\"" : "");
    s += buf;
  }
  static const char* const kMethods[] = {"card", "card", "card", "contactless", "cash"};
  const char* method = kMethods[next(5)];
  if (std::string(method) == "cash") {
    s += "],\"payment\":{\"method\":\"cash\"}}}";
  } else {
    std::snprintf(buf, sizeof buf,
                  "],\"payment\":{\"method\":\"%s\",\"card_fingerprint\":\"fp_%012llx\"}}}", method,
                  static_cast<unsigned long long>(SplitMix(r) >> 16));
    s += buf;
  }
  return s;
}

std::string EventFactory::MakeArray(uint64_t first, uint64_t count) const {
  std::string s;
  s.reserve(count * 560 + 2);
  s += '[';
  for (uint64_t i = 0; i < count; ++i) {
    if (i > 0) s += ',';
    s += Make(first + i);
  }
  s += ']';
  return s;
}

int64_t EventIndexIn(const std::string& text, const std::string& id_prefix) {
  const std::string key = "\"event_id\":\"" + id_prefix + "-";
  const auto pos = text.find(key);
  if (pos == std::string::npos) return -1;
  int64_t v = 0;
  size_t i = pos + key.size();
  size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    v = v * 10 + (text[i] - '0');
  }
  return digits == 0 ? -1 : v;
}

// ---- statistics -------------------------------------------------------------------------------

SizeStats SizesOf(const std::vector<std::string>& texts) {
  SizeStats s;
  if (texts.empty()) return s;
  s.min = SIZE_MAX;
  double total = 0;
  for (const auto& t : texts) {
    total += static_cast<double>(t.size());
    s.min = std::min(s.min, t.size());
    s.max = std::max(s.max, t.size());
  }
  s.mean = total / static_cast<double>(texts.size());
  return s;
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  if (q <= 0) return sorted.front();
  if (q >= 1) return sorted.back();
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// ---- processes --------------------------------------------------------------------------------

MemFigures ReadMem(pid_t pid) {
  MemFigures m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kb = std::stoll(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_kb = std::stoll(line.substr(6));
    if (line.rfind("RssAnon:", 0) == 0) m.anon_kb = std::stoll(line.substr(8));
    if (line.rfind("RssFile:", 0) == 0) m.file_kb = std::stoll(line.substr(8));
    if (line.rfind("RssShmem:", 0) == 0) m.shmem_kb = std::stoll(line.substr(9));
  }
  return m;
}

namespace {

// utime + stime and the name from one /proc stat file ("pid (comm) state ..."); false if unreadable.
bool ReadStatCpu(const std::string& path, std::string* comm, double* seconds) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  if (comm != nullptr) *comm = text.substr(open + 1, close - open - 1);
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  long long utime = 0, stime = 0;
  // After "pid (comm) ": state is field 3; utime is 14, stime 15.
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoll(f);
    if (i == 15) stime = std::stoll(f);
  }
  *seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return true;
}

}  // namespace

std::map<std::string, double> ThreadCpuSeconds(pid_t pid) {
  std::map<std::string, double> out;
  std::error_code ec;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(dir, ec)) {
    std::string comm;
    double s = 0;
    if (ReadStatCpu((task.path() / "stat").string(), &comm, &s)) out[comm] += s;
  }
  return out;
}

double CpuSeconds(pid_t pid) {
  double seconds = 0;
  return ReadStatCpu("/proc/" + std::to_string(pid) + "/stat", nullptr, &seconds) ? seconds : -1;
}

double CpuSecondsWithChildren(pid_t pid) {
  double total = CpuSeconds(pid);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = testing::ReadFile(e.path() / "stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == pid) total += std::max(0.0, CpuSeconds(static_cast<pid_t>(std::stol(name))));
  }
  return total;
}

double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

MemSampler::MemSampler(pid_t pid, std::chrono::milliseconds period) : pid_(pid) {
  thread_ = std::thread([this, period] {
    while (!stop_.load()) {
      const MemFigures m = ReadMem(pid_);
      if (m.rss_kb >= 0) {
        if (m.rss_kb > max_rss_kb_.load()) {
          max_rss_kb_.store(m.rss_kb);
          std::lock_guard lock(mu_);
          at_max_ = m;
        }
        hwm_kb_.store(m.hwm_kb);
        samples_.fetch_add(1);
      }
      std::this_thread::sleep_for(period);
    }
  });
}

MemSampler::~MemSampler() { Stop(); }

void MemSampler::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  const MemFigures m = ReadMem(pid_);  // a last reading at the end of the phase
  if (m.rss_kb >= 0) {
    if (m.rss_kb > max_rss_kb_.load()) {
      max_rss_kb_.store(m.rss_kb);
      std::lock_guard lock(mu_);
      at_max_ = m;
    }
    hwm_kb_.store(m.hwm_kb);
  }
}

int64_t MemSampler::max_rss_kb() const { return max_rss_kb_.load(); }
int64_t MemSampler::hwm_kb() const { return hwm_kb_.load(); }
int MemSampler::samples() const { return samples_.load(); }
MemFigures MemSampler::at_max() const {
  std::lock_guard lock(mu_);
  return at_max_;
}

// ---- conditions -------------------------------------------------------------------------------

std::string NowUtc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Conditions() {
  std::ostringstream o;
  std::string model = "unknown";
  std::string mhz;
  {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      const std::string key = Trim(line.substr(0, colon));
      if (key == "model name" && model == "unknown") model = Trim(line.substr(colon + 1));
      if (key == "cpu MHz" && mhz.empty()) mhz = Trim(line.substr(colon + 1));
    }
  }
  int64_t mem_kb = 0;
  {
    std::ifstream in("/proc/meminfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("MemTotal:", 0) == 0) mem_kb = std::stoll(line.substr(9));
    }
  }
  utsname u{};
  uname(&u);
  const char* tmp_env = std::getenv("TMPDIR");
  const std::string tmp = (tmp_env != nullptr && *tmp_env != '\0') ? tmp_env : "/tmp";
  std::string fs_type = "unknown";
  {
    // The filesystem of the temporary directory (every SQLite file lives there): from
    // /proc/mounts, the longest mount point that prefixes it.
    std::ifstream in("/proc/mounts");
    std::string dev, mnt, type, rest;
    size_t best = 0;
    const std::string real = std::filesystem::weakly_canonical(tmp).string();
    while (in >> dev >> mnt >> type && std::getline(in, rest)) {
      if (real.rfind(mnt, 0) == 0 && mnt.size() >= best) {
        best = mnt.size();
        fs_type = type + " on " + dev + " (mounted at " + mnt + ")";
      }
    }
  }
  std::string mosq_version;
  {
    std::string text;
    testing::RunCommand({"/usr/sbin/mosquitto", "-h"}, std::chrono::seconds(5), &text);
    mosq_version = FirstLineOf(text);
  }
  std::string os;
  {
    std::ifstream in("/etc/os-release");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("PRETTY_NAME=", 0) == 0) os = line.substr(12);
    }
    os.erase(std::remove(os.begin(), os.end(), '"'), os.end());
  }
  // Which source the programs were built from (the tree may move while a benchmark runs).
  std::string source = "unknown";
  {
    const std::string dir = testing::SourceDir();
    std::string head, dirty;
    if (!dir.empty() &&
        testing::RunCommand({"git", "-C", dir, "log", "-1", "--format=%h %cI %s"},
                            std::chrono::seconds(10), &head) == 0) {
      testing::RunCommand({"git", "-C", dir, "status", "--porcelain", "--", "agent", "hub",
                           "shared", "tools"},
                          std::chrono::seconds(10), &dirty);
      source = FirstLineOf(head).substr(0, 100) + " in " + dir +
               (Trim(dirty).empty() ? "" : " (+ uncommitted changes under agent/ hub/ shared/ tools/)");
    }
  }
  char hostname[256] = {0};
  gethostname(hostname, sizeof hostname - 1);
  o << "  date (UTC):     " << NowUtc() << "\n"
    << "  host:           " << hostname << "\n"
    << "  nproc:          " << std::thread::hardware_concurrency() << " (sysconf online: "
    << sysconf(_SC_NPROCESSORS_ONLN) << ")\n"
    << "  CPU:            " << model << (mhz.empty() ? "" : " @ " + mhz + " MHz") << "\n"
    << "  memory:         " << mem_kb / 1024 << " MiB\n"
    << "  kernel:         " << u.sysname << " " << u.release << " " << u.machine << "\n"
    << "  OS:             " << os << "\n"
    << "  machine load:   " << LoadNow() << "\n"
    << "  temp dir:       " << tmp << " on " << fs_type << "\n"
    << "  source:         " << source << "\n"
    << "  build type:     " << CJD_BENCH_BUILD_TYPE << " (cjd-bench and the programs it starts)\n"
    << "  broker:         " << mosq_version << "\n";
  return o.str();
}

std::string LoadNow() {
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  char buf[160];
  std::snprintf(buf, sizeof buf, "load average %.2f %.2f %.2f", load[0], load[1], load[2]);
  std::string out = buf;
  for (const char* what : {"cpu", "io"}) {
    std::ifstream in(std::string("/proc/pressure/") + what);
    std::string line;
    if (!std::getline(in, line)) continue;  // "some avg10=1.23 avg60=0.50 avg300=0.10 total=..."
    std::istringstream fields(line);
    std::string kind, avg10, avg60;
    fields >> kind >> avg10 >> avg60;
    out += std::string("; ") + what + " pressure " + avg10.substr(6) + "% (10 s) " +
           avg60.substr(6) + "% (60 s)";
  }
  return out;
}

// ---- output -----------------------------------------------------------------------------------

void Out(const char* fmt, ...) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stdout, fmt, ap);
  va_end(ap);
  std::fflush(stdout);
}

}  // namespace cjd::bench
