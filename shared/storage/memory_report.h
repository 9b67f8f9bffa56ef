// What a process's memory is made of, for /v1/stats (hub) and /v1/status (agent) and the soak
// benchmark: resident memory, the heap in use, and how much of that heap SQLite holds (its page
// caches fill up to their configured size as the databases grow, which is growth but not a
// leak: the heap outside SQLite is what must stay flat).
#pragma once

#include <cstdint>

namespace cjd {

struct MemoryReport {
  int64_t rss_bytes = -1;          // VmRSS (/proc/self/statm); -1 when unreadable
  int64_t heap_bytes = -1;         // malloc'd and in use (glibc mallinfo2: arenas + mmapped)
  int64_t sqlite_bytes = 0;        // of which SQLite holds now (sqlite3_memory_used)
  int64_t sqlite_peak_bytes = 0;   // SQLite's high-water mark since the process started
};

MemoryReport ReadMemoryReport();

// A soft bound on the memory SQLite holds in this process, all connections together
// (sqlite3_soft_heap_limit64: above it, page caches recycle pages instead of growing). 0: none.
void SetSqliteMemoryLimit(int64_t bytes);

}  // namespace cjd
