// Shared pieces of cjd-bench: interruption, realistic events, statistics, process figures
// (memory, CPU) and the machine's conditions.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace cjd::bench {

using SteadyClock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// ---- interruption -----------------------------------------------------------------------------

// Thrown by CheckInterrupted() after SIGINT/SIGTERM; main() catches it, so destructors stop every
// child process and delete the temporary directories.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted by a signal") {}
};
void InstallSignalHandlers();
bool InterruptRequested();
void CheckInterrupted();
// Sleeps `d` in small steps, throwing Interrupted if a signal arrives meanwhile.
void SleepFor(std::chrono::milliseconds d);

double SecondsSince(SteadyClock::time_point t);

// ---- events -----------------------------------------------------------------------------------

// Realistic POS transactions: a basket of 3-5 items (sku, quantity, price, category, description,
// one in three with an offer), a loyalty id, a card payment; 400-600 bytes of JSON. Deterministic:
// event `index` is always the same text for a given seed and prefix, and its event_id is
// "<id_prefix>-<index, 10 digits>".
class EventFactory {
 public:
  EventFactory(std::string store_id, std::string id_prefix, uint64_t seed = 42);
  std::string Make(uint64_t index) const;
  // "[e_first,...,e_{first+count-1}]"
  std::string MakeArray(uint64_t first, uint64_t count) const;
  const std::string& id_prefix() const { return id_prefix_; }

 private:
  std::string store_id_;
  std::string id_prefix_;
  uint64_t seed_;
};

// The index from an event_id made by EventFactory ("...-0000001234" -> 1234), found in `text`
// (an event's JSON) after `"event_id":"<prefix>-`. -1 if absent.
int64_t EventIndexIn(const std::string& text, const std::string& id_prefix);

// ---- statistics -------------------------------------------------------------------------------

struct SizeStats {
  double mean = 0;
  size_t min = 0;
  size_t max = 0;
};
SizeStats SizesOf(const std::vector<std::string>& texts);

// Nearest-rank percentile of `sorted` (ascending), q in [0, 1].
double Percentile(const std::vector<double>& sorted, double q);
double Median(std::vector<double> v);

// ---- processes --------------------------------------------------------------------------------

struct MemFigures {
  int64_t rss_kb = -1;    // VmRSS = RssAnon + RssFile + RssShmem
  int64_t hwm_kb = -1;    // VmHWM (peak RSS since the process started)
  int64_t anon_kb = -1;   // RssAnon: heap, stacks
  int64_t file_kb = -1;   // RssFile: mapped files (the binary, shared libraries)
  int64_t shmem_kb = -1;  // RssShmem: shared memory (SQLite's -shm WAL index)
};
MemFigures ReadMem(pid_t pid);

// utime + stime of a process in seconds (from /proc/PID/stat); -1 if unreadable.
double CpuSeconds(pid_t pid);
// The same per thread, summed by thread name (/proc/PID/task/*/stat; the daemons name theirs:
// ingest, projector, segments, offer-planner, http, MQTTAsync_*, ...).
std::map<std::string, double> ThreadCpuSeconds(pid_t pid);
// CpuSeconds of `pid` plus those of its children alive now (a PostgreSQL postmaster and its
// backends: a backend's CPU counts while its connection lives).
double CpuSecondsWithChildren(pid_t pid);
// This process's own CPU time (all threads), seconds.
double SelfCpuSeconds();

// Samples the memory of one process every `period` on its own thread and keeps the highest
// VmRSS seen; the last VmHWM read is kept too. Start()/Stop() bound a phase.
class MemSampler {
 public:
  explicit MemSampler(pid_t pid, std::chrono::milliseconds period = std::chrono::milliseconds(50));
  ~MemSampler();
  MemSampler(const MemSampler&) = delete;
  MemSampler& operator=(const MemSampler&) = delete;
  void Stop();
  int64_t max_rss_kb() const;
  int64_t hwm_kb() const;
  int samples() const;
  // The reading with the highest VmRSS.
  MemFigures at_max() const;

 private:
  pid_t pid_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> max_rss_kb_{-1};
  std::atomic<int64_t> hwm_kb_{-1};
  std::atomic<int> samples_{0};
  mutable std::mutex mu_;
  MemFigures at_max_;  // guarded by mu_
  std::thread thread_;
};

// ---- conditions -------------------------------------------------------------------------------

std::string NowUtc();  // "2026-05-01T12:00:00Z"
// SplitMix64: a deterministic 64-bit mix for generated data.
uint64_t SplitMix(uint64_t x);
// Machine and build, one "key: value" per line: nproc, CPU model, memory, kernel, filesystem of
// the temporary directory, build type, mosquitto version.
std::string Conditions();
// One line on how busy the machine is right now: load average and the kernel's pressure stall
// information (/proc/pressure: share of time some task waited for CPU or I/O, 10 s and 60 s
// averages). Printed before and after each benchmark.
std::string LoadNow();

// ---- output -----------------------------------------------------------------------------------

// printf to stdout, flushed (the output is a log people read while it runs).
void Out(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace cjd::bench
