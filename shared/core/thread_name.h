// Names the calling thread (Linux: at most 15 bytes, longer names are cut), so top -H, perf,
// /proc/PID/task/*/comm and the benchmarks can tell the daemons' threads apart.
#pragma once

#include <string_view>

namespace cjd {

void NameThisThread(std::string_view name);

}  // namespace cjd
