#include "shared/storage/memory_report.h"

#include <malloc.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>

namespace cjd {

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
  r.sqlite_bytes = sqlite3_memory_used();
  r.sqlite_peak_bytes = sqlite3_memory_highwater(/*resetFlag=*/0);
  return r;
}

void SetSqliteMemoryLimit(int64_t bytes) { sqlite3_soft_heap_limit64(bytes > 0 ? bytes : 0); }

}  // namespace cjd
