#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
#   1. a RelWithDebInfo build: unit, integration (real Mosquitto, real agent and hub processes)
#      and fault tests, and the Debian packages' test (as root: tests/packaging/install_test.sh);
#   2. one clang build with AddressSanitizer + UndefinedBehaviorSanitizer and libFuzzer's coverage
#      instrumentation (build-sanitize/): the unit tests and the integration tests again (not those
#      labelled heavy or packaging, which it does not build), then
#   3. the fuzz step (tests/fuzz/run.sh) on the same build: the libFuzzer targets, each run for a
#      bounded time (CJD_FUZZ_SECONDS, default 20) on its seed corpus; any crash fails the run.
# Set CJD_SKIP_SANITIZE=1 to skip the sanitizer tests, CJD_SKIP_FUZZ=1 the fuzz step (with both
# set, the clang build is skipped too).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/packaging/install-deps.sh" --tests

jobs=$(nproc)
# Each step's start, in seconds since the run began (CI keeps the log of a run that fails), and
# how busy the machine's CPUs were during the step before (from /proc/stat: idle and iowait
# against the rest), to show which steps leave cores idle.
cpu_mark=""
cpu_now() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat 2>/dev/null || true; }
step() {
  local now busy=""
  now=$(cpu_now)
  if [ -n "$cpu_mark" ] && [ -n "$now" ]; then
    busy=$(echo "$cpu_mark $now" | awk '{b=$3-$1; i=$4-$2;
      if (b+i>0) printf ", CPUs %d%% busy in the step before", 100*b/(b+i)}')
  fi
  cpu_mark=$now
  echo "== $* (at ${SECONDS}s$busy) =="
}

# The team kit's data sets (../shared/datasets) are optional for a user's clone: tests that need
# them skip. When the kit is there (CI, the team's machines) they are required: an unreadable
# kit stops the run here, and a data test that cannot find its files fails instead of skipping.
kit="$root/../shared"
if [ -e "$kit" ]; then
  if [ ! -r "$kit/datasets" ] || [ ! -x "$kit/datasets" ]; then
    echo "tests/run.sh: $kit is there but $kit/datasets cannot be read" >&2
    exit 1
  fi
  unreadable=$(find "$kit/datasets" \( -type f ! -readable \) -o \( -type d ! -executable \) 2>&1 | head -5)
  if [ -n "$unreadable" ]; then
    echo "tests/run.sh: the team kit's data sets are there but not readable:" >&2
    echo "$unreadable" >&2
    exit 1
  fi
  export CJD_REQUIRE_DATASETS=1
  echo "data sets: $kit/datasets (required: a data test that cannot read them fails)"
else
  echo "data sets: $kit absent; the tests that need them skip (listed below)"
fi

# Runs ctest with the given arguments, then names every test that did not run, and why CTest
# says so (a GTEST_SKIP is "Skipped").
run_ctest() {
  local log
  log=$(mktemp)
  local rc=0
  ctest "$@" 2>&1 | tee "$log" || rc=$?
  local skipped
  skipped=$(grep -E '\((Skipped|Disabled|Not Run)\)$' "$log" | sed 's/^[[:space:]]*/  /' || true)
  if [ -n "$skipped" ]; then
    echo "== tests that did not run =="
    echo "$skipped"
  else
    echo "== every test ran (none skipped) =="
  fi
  rm -f "$log"
  return "$rc"
}

# Segment's own Node.js client (tests/integration/segment_node_test.cpp sends through it), from
# the npm registry, pinned; node >= 18 (Debian bookworm's). Kept in build/npm between runs.
step "npm: @segment/analytics-node"
npm_dir="$root/build/npm"
if [ ! -e "$npm_dir/node_modules/@segment/analytics-node/package.json" ]; then
  mkdir -p "$npm_dir"
  # A machine that cannot reach the registry (offline, or behind a proxy whose certificate npm
  # does not trust) still runs every other test: that one test then skips, and says why.
  if ! npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error \
      @segment/analytics-node@2.2.1; then
    echo "tests/run.sh: WARNING: npm could not install @segment/analytics-node from the npm" >&2
    echo "  registry (see above); tests/integration/segment_node_test.cpp will skip" >&2
  fi
fi
export CJD_NPM_DIR="$npm_dir"

step "build (RelWithDebInfo)"
# -g1 (line tables: backtraces and sanitizer reports keep file and line) instead of -g: about a
# quarter less compile time, and the test run needs no variables' debug information.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
cmake --build build -j"$jobs"
# The optimised build's tests run two per core: most of them wait on real processes (broker,
# agents, hubs, PostgreSQL), and at one per core the CPUs were idle half the time (a fresh-clone
# run: 46 % and 62 % busy in the two passes below). The sanitizer pass keeps one per core: it
# keeps the CPUs busy on its own (98 %).
test_jobs=$((jobs * 2))
step "tests (RelWithDebInfo)"
run_ctest --test-dir build --output-on-failure -j"$test_jobs" --timeout 900

# Every integration suite once more with the hub's event store in PostgreSQL (issue 17: the
# fixture starts a real one per test, tests/support/postgres.h). Left out: the packages' test, and
# three about the SQLite files themselves, which have no PostgreSQL counterpart: file modes of
# hub.db, the erasure's byte search in a copy of hub.db, and the hub on a full disk (it fills the
# hub folder's filesystem and checks hub.db's integrity; PostgreSQL's data lives elsewhere).
step "integration suites with the hub's store in PostgreSQL"
CJD_ITEST_DATABASE=postgres run_ctest --test-dir build --output-on-failure -j"$test_jobs" --timeout 900 \
  -L integration -LE packaging \
  -E '^(FileModes\.|Privacy\.ErasureReachesEveryDeviceAndLeavesNoPersonalByte$|FaultFullDisk\.Hub)'

# The sanitizer tests and the fuzz targets share one build: clang, -fsanitize=address,undefined
# plus fuzzer-no-link (libFuzzer's coverage counters, inert outside a fuzz target), -g1. The
# libraries and programs at -O1 (at -O0 the fuzz targets ran 3-13x fewer inputs in their time),
# the test bodies at -O0 (tests/CMakeLists.txt: clang compiles them ~30 % faster than gcc did).
# One library build instead of two (gcc ASan for the tests, clang for the fuzzers).
if [ "${CJD_SKIP_SANITIZE:-0}" != "1" ] || [ "${CJD_SKIP_FUZZ:-0}" != "1" ]; then
  step "build (clang: ASan + UBSan + fuzzer coverage)"
  san=build-sanitize
  # A folder configured by an earlier version of this script with gcc: start it again (CMake
  # cannot change the compiler of a configured folder).
  if [ -f "$san/CMakeCache.txt" ] &&
     ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' "$san/CMakeCache.txt"; then
    rm -rf --one-file-system "$san/CMakeCache.txt" "$san/CMakeFiles"
  fi
  cmake -S . -B "$san" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DCMAKE_CXX_COMPILER=clang++ -DCJD_BUILD_FUZZERS=ON -DCJD_BUILD_HEAVY_TESTS=OFF \
    -DCJD_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build "$san" -j"$jobs"
fi

if [ "${CJD_SKIP_SANITIZE:-0}" != "1" ]; then
  step "tests (ASan + UBSan)"
  # tests/lsan.supp silences leaks inside Paho's own library (listed there with the reason).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions="$root/tests/lsan.supp":print_suppressions=0 \
    run_ctest --test-dir build-sanitize --output-on-failure -j"$jobs" --timeout 1800 -LE 'heavy|packaging'
fi

if [ "${CJD_SKIP_FUZZ:-0}" != "1" ]; then
  step "fuzz"
  CJD_FUZZ_BUILD_DIR="$root/build-sanitize" "$root/tests/fuzz/run.sh"
fi
step "done"
