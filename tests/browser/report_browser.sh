#!/usr/bin/env bash
# The HTML reports of prune, synth, the report command and a sweep that synthesises its
# points, opened in headless Chromium (check_report.mjs): no console error, no network
# request, every chart rendered, and the mark counts the results imply (one symbol per step,
# one bar per layer and series, one estimate-vs-Yosys symbol per point and resource).
#
# Usage: tests/browser/report_browser.sh HWPRUNE WORK_DIR
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 HWPRUNE WORK_DIR" >&2; exit 2; }
hwprune=$1
work=$2
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$work"
mkdir -p "$work"
cd "$work"

echo "== prune --report"
"$hwprune" prune --model jet-mlp --data letter --rf 4 --baseline-epochs 4 --steps 3 \
  --epochs-per-step 1 --threads 1 --quiet --out p.hwp --json p.json --report prune.html
echo "== synth --report"
"$hwprune" synth --model p.hwp --data letter --samples 50 --dsp-bram-only --out synth \
  --json s.json --report synth.html
echo "== report of both"
"$hwprune" report p.json s.json --out both.html --title "prune and synth"

# Expected marks from the JSON: the step chart has one symbol per step; the front across
# steps one per step with resources plus the unpruned design; per-layer bars one per layer,
# resource in use and series.
read -r prune_expect synth_expect < <(/usr/bin/python3 - <<'PY'
import json
p = json.load(open("p.json"))
s = json.load(open("s.json"))
steps = len(p["steps"])
def bars(rows_by_series):
    used = {r for rows in rows_by_series for l in rows for r, v in l.items() if v > 0}
    return sum(1 for rows in rows_by_series for l in rows for r in l if r in used)
def layer_res(layers):
    return [{k: l[k] for k in ("dsp", "bram18") if l.get(k) is not None and l[k] >= 0}
            for l in layers]
prune_bars = bars([layer_res(p["layers"]["baseline"]), layer_res(p["layers"]["final"])])
synth_bars = bars([layer_res([l["estimate"] for l in s["layers"]]),
                   layer_res([l["yosys"] for l in s["layers"]])])
print(f"run-0-steps:symbol={steps},run-0-front-0:symbol={steps + 1},run-0-layers:rect={prune_bars}",
      f"run-0-synth:rect={synth_bars}")
PY
)
echo "expected marks: prune ${prune_expect//,/ }; synth $synth_expect"
node "$here/check_report.mjs" prune.html ${prune_expect//,/ }
node "$here/check_report.mjs" synth.html "$synth_expect"
node "$here/check_report.mjs" both.html ${prune_expect//,/ } "$synth_expect" --screenshot both.png

echo "== a sweep with synth per point"
cat > sweep.yml <<'YML'
base: {model: p.hwp, data: letter, steps: 2, epochs-per-step: 1, rtol: 0.95}
grid: {final-sparsity: [0.3, 0.6]}
synth: {samples: 20, dsp-bram-only: true}
YML
"$hwprune" sweep sweep.yml --poll 30
sweep_expect=$(/usr/bin/python3 - <<'PY'
import json
rows = [json.loads(l) for l in open("sweep.sweep/results.jsonl")]
assert all(r["state"] == "done" for r in rows), rows
for r in rows:  # the estimate is what Yosys maps
    assert r["yosys_dsp"] == r["synth_estimate_dsp"] == r["dsp_after"], r
    assert r["yosys_bram18"] == r["synth_estimate_bram18"], r
pairs = sum(1 for r in rows for k in ("dsp", "bram18", "lut_multipliers")
            if r["synth_estimate_" + k] is not None and r["synth_estimate_" + k] >= 0
            and r["yosys_" + k] is not None)
print(f"sweep-0-yosys:symbol={pairs} sweep-0-steps:line={len(rows)}")
PY
)
# shellcheck disable=SC2086
node "$here/check_report.mjs" sweep.sweep/report.html $sweep_expect
echo "PASS"
