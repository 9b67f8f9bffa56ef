#!/usr/bin/env bash
# The fuzz step of tests/run.sh: builds the libFuzzer targets with clang (ASan + UBSan), then
# runs each for a bounded time on its committed seed corpus (tests/fuzz/corpus/), two at a time.
# Fails on any crash, leak, sanitizer report, timeout or broken invariant, and prints the saved
# input.
#   CJD_FUZZ_BUILD_DIR a folder already configured with clang and -DCJD_BUILD_FUZZERS=ON
#                      (tests/run.sh passes its build-sanitize/, shared with the sanitizer
#                      tests); without it, build-fuzz/ is configured here (-O1, tests off)
#   CJD_FUZZ_SECONDS   time per target (default 20)
#   CJD_FUZZ_JOBS      targets run at once (default: the number of cores, at most 2)
#   CJD_FUZZ_TARGETS   space-separated subset (default: all)
# Inputs the run finds are kept in BUILD/fuzz-out/TARGET/ (never in the committed corpus).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
seconds=${CJD_FUZZ_SECONDS:-20}
cores=$(nproc)
jobs=${CJD_FUZZ_JOBS:-$(( cores < 2 ? cores : 2 ))}
all_targets="fuzz_event_body fuzz_event_canonical fuzz_json_exact fuzz_batch_decode fuzz_frame_raw
  fuzz_frame_sealed fuzz_offer_update fuzz_device_status fuzz_csv_import fuzz_segment_rule
  fuzz_http_agent fuzz_http_hub"
targets=${CJD_FUZZ_TARGETS:-$all_targets}

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: clang++ is missing (packaging/install-deps.sh installs it)" >&2
  exit 1
fi
if [ -n "${CJD_FUZZ_BUILD_DIR:-}" ]; then
  build=$CJD_FUZZ_BUILD_DIR
  if ! grep -q '^CJD_BUILD_FUZZERS:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    echo "fuzz: $build is not a build folder configured with -DCJD_BUILD_FUZZERS=ON" >&2
    exit 1
  fi
  echo "== build (fuzzers, in $build) =="
else
  build="$root/build-fuzz"
  launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  echo "== build (fuzzers: clang, libFuzzer, ASan + UBSan) =="
  # -O1, as libFuzzer's documentation builds its targets; -g1 (line tables: reports keep file and
  # line) for a shorter build.
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_COMPILER=clang -DCJD_BUILD_FUZZERS=ON -DCJD_BUILD_TESTS=OFF \
    -DCJD_BUILD_BENCHMARKS=OFF "${launcher[@]}" >/dev/null
fi
# shellcheck disable=SC2086
cmake --build "$build" -j"$cores" --target $targets

dict_for() {
  case "$1" in
    fuzz_event_body|fuzz_event_canonical|fuzz_json_exact) echo event ;;
    fuzz_http_agent|fuzz_http_hub) echo http ;;
    fuzz_segment_rule) echo rule ;;
    fuzz_offer_update) echo offer ;;
    fuzz_device_status) echo status ;;
    *) echo "" ;;
  esac
}

out="$build/fuzz-out"
mkdir -p "$out"
run_one() {
  local t=$1 dict args=()
  dict=$(dict_for "$t")
  [ -n "$dict" ] && args+=("-dict=$root/tests/fuzz/dict/$dict.dict")
  # The HTTP targets run a whole agent or hub (threads, Paho) in the process: a per-input leak
  # check would report memory those threads hold at that moment. LeakSanitizer still runs at exit.
  case "$t" in fuzz_http_*) args+=(-detect_leaks=0) ;; esac
  rm -rf "$out/$t/artifacts"
  mkdir -p "$out/$t/new" "$out/$t/artifacts"
  if ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     LSAN_OPTIONS=suppressions="$root/tests/lsan.supp":print_suppressions=0 \
     "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2560 \
       -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/$t/artifacts/" "${args[@]}" \
       "$out/$t/new" "$root/tests/fuzz/corpus/$t" >"$out/$t/log" 2>&1; then
    echo "fuzz: $t ok: $(grep -E '^stat::number_of_executed_units' "$out/$t/log" | awk '{print $2}') runs in ${seconds}s"
  else
    echo "fuzz: $t FAILED; last lines of $out/$t/log:" >&2
    tail -n 60 "$out/$t/log" >&2
    for f in "$out/$t"/artifacts/*; do
      [ -f "$f" ] && { echo "fuzz: input saved as $f (base64):" >&2; base64 -w0 "$f" | head -c 4000 >&2; echo >&2; }
    done
    return 1
  fi
}
export -f run_one dict_for
export root build out seconds

echo "== fuzz (${seconds}s per target, $jobs at once) =="
# shellcheck disable=SC2086
printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c 'run_one {}'
