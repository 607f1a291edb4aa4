#!/usr/bin/env bash
# A sweep through a real Slurm: starts a single-node Slurm (scripts/slurm-local.sh) in a
# temporary folder, runs a small sweep (jet-mlp on Letter, RF 1/2 x final sparsity 0.5/0.8)
# through sbatch as one job array, runs the same sweep locally, and checks that every
# point's result is the same (timings and output paths aside). Then opens the sweep's report
# in headless Chromium (tests/browser/check_report.mjs) and checks every chart rendered with
# one mark per point. Fails with the reason when Slurm cannot start; never skips.
#
# Usage: tests/slurm/slurm_sweep.sh HWPRUNE WORK_DIR
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 HWPRUNE WORK_DIR" >&2; exit 2; }
hwprune=$1
work=$2
source_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
rm -rf "$work"
mkdir -p "$work"
cd "$work"
slurm=$work/slurm
cleanup() { "$source_dir/scripts/slurm-local.sh" stop "$slurm" || true; }
trap cleanup EXIT

step() { echo "== $*"; }

step "start Slurm in $slurm"
conf=$("$source_dir/scripts/slurm-local.sh" start "$slurm") ||
  { echo "FAIL: Slurm did not start (reason above)" >&2; exit 1; }
eval "$conf"
sinfo

step "train the model the points prune"
"$hwprune" train --model jet-mlp --data letter --epochs 8 --lr 0.003 --threads 1 --quiet \
  --out base.hwp

cat > sweep.yml <<'YML'
base:
  model: base.hwp
  data: letter
  objective: dsp
  scheduler: polynomial
  steps: 2
  epochs-per-step: 1
  seed: 3
grid:
  rf: [1, 2]
  final-sparsity: [0.5, 0.8]
slurm:
  partition: debug
  time: "00:10:00"
  throttle: 2
YML

step "sweep through Slurm"
"$hwprune" sweep sweep.yml --executor slurm --dir via-slurm --poll 1
jobs=$(grep -c . via-slurm/slurm-job)
[[ $jobs -eq 1 ]] || { echo "FAIL: no Slurm job recorded" >&2; exit 1; }
ls via-slurm/points/slurm-*_0.out >/dev/null ||
  { echo "FAIL: no Slurm task output: the points did not run under Slurm" >&2; exit 1; }

step "the same sweep locally"
"$hwprune" sweep sweep.yml --executor local --workers 2 --dir local --poll 5

step "results identical"
/usr/bin/python3 "$source_dir/tests/slurm/compare_sweeps.py" via-slurm local

step "the report in Chromium"
expect=$(/usr/bin/python3 - via-slurm/results.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
out = []
for key in ("dsp", "bram18"):
    pts = [r for r in rows if r["state"] == "done" and r[key + "_after"] is not None]
    if not any(r[key + "_after"] > 0 or r[key + "_before"] > 0 for r in pts):
        continue
    base = {(r[key + "_before"], r["test_before"]) for r in pts}
    out.append(f"sweep-0-{key}:symbol={len(pts) + len(base)}")
steps = sum(len(json.load(open("via-slurm/" + r["result"]))["steps"]) for r in rows)
out.append(f"sweep-0-steps:symbol={steps}")
out.append(f"sweep-0-steps:line={len(rows)}")
print(" ".join(out))
PY
)
echo "expected marks: $expect"
# shellcheck disable=SC2086
node "$source_dir/tests/browser/check_report.mjs" via-slurm/report.html $expect
echo "PASS"
