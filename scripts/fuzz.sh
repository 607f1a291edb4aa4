#!/usr/bin/env bash
# The reliability builds (docs/fuzzing.md): clang-14 with AddressSanitizer and
# UndefinedBehaviorSanitizer (CMake preset "sanitize", folder build-sanitize), the torch-free
# core tests under them, and libFuzzer on every parser.
#
# Usage: scripts/fuzz.sh build              configure and build the preset
#        scripts/fuzz.sh list               the fuzz targets
#        scripts/fuzz.sh tests [--quick]    the core tests (and seed/regression replays) under
#                                           the sanitizers; --quick: without the Yosys/Verilator
#                                           ones
#        scripts/fuzz.sh smoke [SECONDS]    every target SECONDS (default 20), one per core
#        scripts/fuzz.sh run TARGET [MIN]   one target for MIN minutes (default 10), its corpus
#                                           kept in build-sanitize/fuzz-corpus/TARGET
#        scripts/fuzz.sh ci [SECONDS]       build, tests --quick, smoke (what .ci/run calls)
# A crash, a sanitizer report, a hang (>10 s on one input), a non-project exception or an error
# message on more than one line fails the run; the input is saved under
# build-sanitize/fuzz-artifacts/ (add it to tests/fuzz/regressions/<target>/ once fixed).
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=${HWPRUNE_SANITIZE_BUILD_DIR:-$root/build-sanitize}
fuzz_dir=$build/tests/fuzz
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/fuzz/lsan.supp}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1

targets() {
  for f in "$root"/tests/fuzz/fuzz_*.cpp; do
    f=${f##*/fuzz_}
    echo "${f%.cpp}"
  done
}

build() {
  cmake --preset sanitize -S "$root" -B "$build" >/dev/null
  cmake --build "$build" -j "$(nproc)"
}

# Core tests whose time goes to Yosys and Verilator (uninstrumented programs; about 6 of the
# 6.5 minutes under the sanitizers): `tests --quick` leaves them out. The gcc build runs them.
tool_tests='(^|/)(RtlCosim|RtlSynth[A-Za-z]*|RtlConv[A-Za-z]*|Yosys|LutTable|DspLut)[./]'

tests() {
  local filter=()
  [[ ${1:-} == --quick ]] && filter=(-E "$tool_tests")
  # The preset "sanitize" sets the same environment (exported above) for build-sanitize.
  ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "${filter[@]}"
}

seeds() {
  rm -rf "$fuzz_dir/seeds"
  "$fuzz_dir/fuzz_seeds" "$fuzz_dir/seeds"
}

# fuzz_one TARGET SECONDS CORPUS: libFuzzer on the corpus, the seeds and the regressions.
fuzz_one() {
  local name=$1 seconds=$2 corpus=$3
  local log=$build/fuzz-logs/$name.log
  mkdir -p "$corpus" "$build/fuzz-artifacts" "$build/fuzz-logs"
  local extra=("$fuzz_dir/seeds/$name")
  [[ -d $root/tests/fuzz/regressions/$name ]] && extra+=("$root/tests/fuzz/regressions/$name")
  if "$fuzz_dir/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$name-" \
    "$corpus" "${extra[@]}" >"$log" 2>&1; then
    local runs
    runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    printf '%-12s %10s runs in %ss   ok\n' "$name" "${runs:-?}" "$seconds"
  else
    printf '%-12s FAILED (log %s):\n' "$name" "$log"
    grep -E "^(fuzz:|==[0-9]+==ERROR|SUMMARY|.*runtime error)|Test unit written|ALARM|out-of-memory" \
      "$log" | head -20
    return 1
  fi
}

smoke() {
  local seconds=${1:-20} failed=0 running=0 count=0
  local cores
  cores=$(nproc)
  seeds
  for name in $(targets); do
    if ((running >= cores)); then
      wait -n || failed=1
      running=$((running - 1))
    fi
    fuzz_one "$name" "$seconds" "$build/fuzz-smoke/$name" &
    running=$((running + 1))
    count=$((count + 1))
  done
  while ((running > 0)); do
    wait -n || failed=1
    running=$((running - 1))
  done
  rm -rf "$build/fuzz-smoke"
  ((failed == 0)) || { echo "fuzz smoke: a target failed" >&2; return 1; }
  echo "fuzz smoke: $count targets, $seconds s each, no failure"
}

case ${1:-} in
  build) build ;;
  list) targets ;;
  tests) tests "${2:-}" ;;
  smoke) smoke "${2:-20}" ;;
  run)
    [[ -n ${2:-} ]] || { echo "usage: $0 run TARGET [MINUTES]" >&2; exit 2; }
    targets | grep -qx "$2" || { echo "$0: no fuzz target '$2' (scripts/fuzz.sh list)" >&2; exit 2; }
    seeds
    fuzz_one "$2" $((${3:-10} * 60)) "$build/fuzz-corpus/$2"
    ;;
  ci)
    build
    tests --quick
    smoke "${2:-20}"
    ;;
  *)
    sed -n '2,19p' "$0" >&2
    exit 2
    ;;
esac
