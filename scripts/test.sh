#!/usr/bin/env bash
# Builds everything (library, CLI, tests, benchmarks) and runs the whole test suite.
# Installs the Debian packages it needs first (scripts/setup.sh).
#
# Usage: scripts/test.sh        build folder: $HWPRUNE_BUILD_DIR, default ./build
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=${HWPRUNE_BUILD_DIR:-$root/build}

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)"
# Tests: one torch/OpenMP thread each, passive waiting (set per test by CTest as well).
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
