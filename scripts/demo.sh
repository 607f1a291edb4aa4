#!/usr/bin/env bash
# The main job: installs what is needed, builds hwprune, trains the default model
# (fmnist-cnn, ap_fixed<16,6> quantization-aware training) on Fashion-MNIST and prints its
# test accuracy.
#
# Usage: scripts/demo.sh        outputs go to ./demo-out, the build to $HWPRUNE_BUILD_DIR
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=${HWPRUNE_BUILD_DIR:-$root/build}
out=${HWPRUNE_DEMO_DIR:-$root/demo-out}

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target hwprune
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE
"$build/hwprune" train --model fmnist-cnn --data fashion-mnist --precision 'ap_fixed<16,6>' \
  --epochs 15 --out "$out/fmnist-cnn.hwp" --json "$out/fmnist-cnn-train.json"
"$build/hwprune" evaluate --model "$out/fmnist-cnn.hwp" --data fashion-mnist
