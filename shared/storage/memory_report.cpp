#include "shared/storage/memory_report.h"

#include <malloc.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace cjd {
namespace {

// One counter per thread (threads past kSlots share slots: the counters are atomic, so a shared
// slot is still exact). A thread's frees may land in another thread's slot: only the sum means
// anything.
constexpr int kSlots = 64;
struct alignas(64) Slot {
  std::atomic<int64_t> bytes{0};
};
Slot g_slots[kSlots];
std::atomic<int> g_next_slot{0};
std::atomic<bool> g_per_thread{false};
std::atomic<int64_t> g_peak{0};

Slot& MySlot() {
  thread_local Slot* slot = &g_slots[g_next_slot.fetch_add(1, std::memory_order_relaxed) % kSlots];
  return *slot;
}

void Count(int64_t delta) { MySlot().bytes.fetch_add(delta, std::memory_order_relaxed); }

void* CountedMalloc(int n) {
  void* p = std::malloc(static_cast<size_t>(n));
  if (p != nullptr) Count(static_cast<int64_t>(::malloc_usable_size(p)));
  return p;
}

void CountedFree(void* p) {
  if (p == nullptr) return;
  Count(-static_cast<int64_t>(::malloc_usable_size(p)));
  std::free(p);
}

void* CountedRealloc(void* p, int n) {
  const int64_t before = p != nullptr ? static_cast<int64_t>(::malloc_usable_size(p)) : 0;
  void* q = std::realloc(p, static_cast<size_t>(n));
  if (q != nullptr) Count(static_cast<int64_t>(::malloc_usable_size(q)) - before);
  return q;
}

int CountedSize(void* p) { return p != nullptr ? static_cast<int>(::malloc_usable_size(p)) : 0; }
int CountedRoundup(int n) { return (n + 7) & ~7; }
int CountedInit(void*) { return SQLITE_OK; }
void CountedShutdown(void*) {}

int64_t PerThreadTotal() {
  int64_t sum = 0;
  for (const Slot& s : g_slots) sum += s.bytes.load(std::memory_order_relaxed);
  return sum;
}

}  // namespace

bool CountSqliteMemoryPerThread() {
  static const sqlite3_mem_methods methods = {CountedMalloc,  CountedFree,  CountedRealloc,
                                              CountedSize,    CountedRoundup, CountedInit,
                                              CountedShutdown, nullptr};
  if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK) return false;
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) != SQLITE_OK) {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1);
    return false;
  }
  g_per_thread.store(true);
  return true;
}

MemoryReport ReadMemoryReport() {
  MemoryReport r;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    long long size = 0, resident = 0;
    if (std::fscanf(f, "%lld %lld", &size, &resident) == 2) {
      r.rss_bytes = resident * static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
    }
    std::fclose(f);
  }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 m = ::mallinfo2();
  r.heap_bytes = static_cast<int64_t>(m.uordblks + m.hblkhd);
#endif
  if (g_per_thread.load()) {
    r.sqlite_bytes = std::max<int64_t>(PerThreadTotal(), 0);
    int64_t peak = g_peak.load();
    while (r.sqlite_bytes > peak && !g_peak.compare_exchange_weak(peak, r.sqlite_bytes)) {
    }
    r.sqlite_peak_bytes = std::max(peak, r.sqlite_bytes);
  } else {
    r.sqlite_bytes = sqlite3_memory_used();
    r.sqlite_peak_bytes = sqlite3_memory_highwater(/*resetFlag=*/0);
  }
  return r;
}

void SetSqliteMemoryLimit(int64_t bytes) { sqlite3_soft_heap_limit64(bytes > 0 ? bytes : 0); }

}  // namespace cjd
