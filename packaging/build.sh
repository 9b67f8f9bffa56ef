#!/usr/bin/env bash
# Configures and builds into BUILD_DIR (default: build/). Usage: packaging/build.sh [BUILD_DIR] [cmake args...]
# CJD_BUILD_TARGETS="cjd-agent cjd-hub" builds only those targets (demo.sh: the three programs,
# without the tests); unset, everything is built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
targets=()
for t in ${CJD_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
