#!/usr/bin/env bash
# Installs everything hwprune needs from Debian 12 packages (idempotent: when all packages
# are present it only checks), selects the OpenMP build of OpenBLAS as the system BLAS that
# LibTorch loads, and writes the Letter CSV used as the jet-tagger stand-in.
#
# Usage: scripts/setup.sh [--bench]     --bench adds python3-torch (the benchmark's peer)
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

packages=(
  # build
  cmake g++ make pkg-config
  # libraries
  libtorch-dev libopenblas0-openmp zlib1g-dev libzip-dev nlohmann-json3-dev libcli11-dev
  libfmt-dev libgtest-dev libgmock-dev
  # interop: Keras .h5, ONNX, hls4ml YAML
  libhdf5-dev libonnx-dev libprotobuf-dev libyaml-cpp-dev
  # tests: the external MIP solver the knapsack is cross-checked against; python-onnx and
  # numpy, the independent ONNX decoding/evaluation the ONNX tests compare with
  coinor-cbc python3-onnx python3-numpy
  # hardware checks: synthesis and co-simulation of the generated Verilog
  yosys verilator
  # tests: hls4ml (Python, tests/hls4ml) reads the exports with Debian's python3
  python3-h5py python3-yaml
  # data: Fashion-MNIST, and R's mlbench for the UCI Letter data
  dataset-fashion-mnist r-base-core r-cran-mlbench
  # sweeps: the single-node Slurm the sweep test starts (tests/slurm)
  slurm-wlm munge
  # reports: the browser test opens reports in Chromium (Node.js and npm: below)
  chromium
  # reliability: the sanitizer build and libFuzzer targets (scripts/fuzz.sh)
  clang-14 libclang-rt-14-dev
)
# Node.js and npm install the charting libraries (web/package.json): the machine's own when
# it has them, else Debian's.
command -v npm >/dev/null || packages+=(nodejs npm)
if [[ ${1:-} == --bench ]]; then
  packages+=(python3-torch python3-numpy)
elif [[ -n ${1:-} ]]; then
  echo "usage: $0 [--bench]" >&2
  exit 2
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "$0: run as root (or install sudo)" >&2; exit 1; }
  as_root=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# LibTorch links libblas.so.3/liblapack.so.3: point them at OpenBLAS (OpenMP build), not
# the reference BLAS (6x slower) nor the pthread OpenBLAS (its threads fight LibTorch's).
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  target=/usr/lib/$arch/openblas-openmp/$lib
  name=$lib-$arch
  if [[ -e $target ]] && update-alternatives --query "$name" >/dev/null 2>&1; then
    current=$(update-alternatives --query "$name" | awk '/^Value:/ {print $2}')
    [[ $current == "$target" ]] || "${as_root[@]}" update-alternatives --set "$name" "$target" >/dev/null
  fi
done

# The charting libraries reports inline, and the browser test's driver (web/package-lock.json).
web=$here/../web
if [[ ! -f $web/node_modules/.package-lock.json ]] ||
  ! cmp -s "$web/package-lock.json" "$web/node_modules/.hwprune-lock"; then
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$web/package-lock.json" "$web/node_modules/.hwprune-lock"
fi

letter=${HWPRUNE_DATA_DIR:-${HOME}/.cache/hwprune}/letter.csv
[[ -s $letter ]] || "$here/letter-csv.sh" "$letter"
