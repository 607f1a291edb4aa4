#!/usr/bin/env bash
# Installs the built project into a scratch prefix and builds/runs tests/consumer against it
# with find_package(hwprune): one training step, and the pruning pipeline on a small CSV.
# Usage: install_consumer.sh <build-dir> <source-dir>
set -euo pipefail
build=$1 src=$2
scratch=$(mktemp -d)
trap 'rm -rf -- "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$scratch/build" >/dev/null
out=$("$scratch/build/consumer")
echo "$out"
grep -Eq '^loss [0-9.]+, 0.3 -> 0.299805$' <<<"$out"
# 600 rows of 16 features, 3 well separated classes.
awk 'BEGIN { srand(3); for (i = 0; i < 600; i++) { c = i % 3; line = "";
  for (j = 0; j < 16; j++) line = line sprintf("%.4f,", c * 2 + (rand() - 0.5));
  print line c } }' >"$scratch/rows.csv"
out=$("$scratch/build/prune_example" "csv:$scratch/rows.csv" "$scratch/pruned.hwp")
echo "$out"
grep -Eq '^DSP [0-9.]+ -> [0-9.]+, test accuracy' <<<"$out"
test -s "$scratch/pruned.hwp"
