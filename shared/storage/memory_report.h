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
  int64_t sqlite_bytes = 0;        // of which SQLite holds now
  // SQLite's high-water mark since the process started (with CountSqliteMemoryPerThread: the
  // highest total seen by a ReadMemoryReport so far).
  int64_t sqlite_peak_bytes = 0;
};

MemoryReport ReadMemoryReport();

// A soft bound on the memory SQLite holds in this process, all connections together
// (sqlite3_soft_heap_limit64: above it, page caches recycle pages instead of growing). 0: none.
void SetSqliteMemoryLimit(int64_t bytes);

// Call before the process's first use of SQLite, in a process that sets no limit above: SQLite's
// own accounting (SQLITE_CONFIG_MEMSTATUS) takes one process-wide mutex around every allocation,
// contended when several threads work in SQLite at once (the hub: projector, segments,
// journeys). This turns it off and counts SQLite's bytes per thread instead (malloc and
// malloc_usable_size, one counter per thread, summed when read). The soft limit needs SQLite's
// own accounting, so the two exclude each other. Returns false (and changes nothing) when SQLite
// was already initialised.
bool CountSqliteMemoryPerThread();

}  // namespace cjd
