#!/usr/bin/env bash
# The main job, end to end on jet-mlp (the hls4ml jet-tagger shape, 16-64-32-32-26) and the
# Letter data: installs what is needed, builds hwprune, trains the baseline with
# ap_fixed<16,6> quantization-aware training, prunes it for DSPs at reuse factor 4, then
# generates, co-simulates (Verilator, against the bit-exact integer model) and synthesises
# (Yosys synth_xilinx, xc7) the Verilog of the baseline and of the pruned network. Ends with
# the two synthesis tables: DSP, BRAM18, LUT, FF and latency per layer, estimate vs Yosys.
#
# Usage: scripts/demo.sh        outputs go to ./demo-out, the build to $HWPRUNE_BUILD_DIR
# About 3 minutes on 2 cores once hwprune is built (measured: 2 min 47 s; each synth run
# about a minute, most of it the Verilator build and Yosys).
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=${HWPRUNE_BUILD_DIR:-$root/build}
out=${HWPRUNE_DEMO_DIR:-$root/demo-out}

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target hwprune
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE
hwprune=$build/hwprune

# Baseline: 60 epochs of QAT (cosine learning rate).
"$hwprune" train --model jet-mlp --data letter --epochs 60 --schedule cosine --lr 0.003 \
  --out "$out/jet.hwp"
# DSP-aware pruning at RF 4 (Resource strategy): group lasso for 20 epochs, then polynomial
# steps towards 90% fewer DSPs, 40 masked fine-tuning epochs each, every step kept only
# within 1% relative validation accuracy (a failed step is repaired, and the run stops after
# 6 failures). Prints a row per step and the per-layer before/after table.
"$hwprune" prune --model "$out/jet.hwp" --data letter --rf 4 --objective dsp --lr 0.003 \
  --reg-epochs 20 --alpha 0.0001 --final-sparsity 0.9 --steps 20 --epochs-per-step 40 \
  --max-bad-trials 6 --out "$out/jet-pruned.hwp" --json "$out/jet-prune.json"
# Hardware truth for both: Verilog, 1,000 Letter test rows co-simulated, Yosys. Its BRAM18
# estimate uses the trimmed model (Yosys drops ROM bit columns that are constant), so it is
# below prune's, which counts every bit of a kept lane (--bram-model packed).
for m in jet jet-pruned; do
  "$hwprune" synth --model "$out/$m.hwp" --rf 4 --data letter --out "$out/synth-$m" \
    --json "$out/synth-$m.json" | tee "$out/synth-$m.txt"
done
echo
echo "== baseline (unpruned) =="
cat "$out/synth-jet.txt"
echo
echo "== pruned =="
cat "$out/synth-jet-pruned.txt"
