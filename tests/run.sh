#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
#   1. a RelWithDebInfo build: unit, integration (real Mosquitto, real agent and hub processes)
#      and fault tests;
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build: the unit tests and the integration
#      tests again;
#   3. the fuzz step (tests/fuzz/run.sh): libFuzzer targets built with clang, each run for a
#      bounded time (CJD_FUZZ_SECONDS, default 20) on its seed corpus; any crash fails the run.
# Set CJD_SKIP_SANITIZE=1 to skip the second configuration, CJD_SKIP_FUZZ=1 the third.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/packaging/install-deps.sh"

jobs=$(nproc)
echo "== build (RelWithDebInfo) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "== tests (RelWithDebInfo) =="
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900

if [ "${CJD_SKIP_SANITIZE:-0}" != "1" ]; then
  echo "== build (ASan + UBSan) =="
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DCJD_SANITIZE=ON -DCJD_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build build-sanitize -j"$jobs"
  echo "== tests (ASan + UBSan) =="
  # tests/lsan.supp silences leaks inside Paho's own library (listed there with the reason).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions="$root/tests/lsan.supp":print_suppressions=0 \
    ctest --test-dir build-sanitize --output-on-failure -j"$jobs" --timeout 1800 -LE heavy
fi

if [ "${CJD_SKIP_FUZZ:-0}" != "1" ]; then
  "$root/tests/fuzz/run.sh"
fi
