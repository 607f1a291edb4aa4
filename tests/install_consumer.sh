#!/usr/bin/env bash
# Installs the built project into a scratch prefix and builds/runs tests/consumer against it
# with find_package(hwprune). Usage: install_consumer.sh <build-dir> <source-dir>
set -euo pipefail
build=$1 src=$2
scratch=$(mktemp -d)
trap 'rm -rf -- "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$scratch/build" >/dev/null
"$scratch/build/consumer"
