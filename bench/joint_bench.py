#!/usr/bin/env python3
"""Joint pruning and precision benchmark (issue 16): one trained model (jet-mlp on Letter or
fmnist-cnn on Fashion-MNIST) pruned four ways at RF 1 and RF 2, with DSPs, LUTs of the LUT
multipliers (the estimate's measured table) and the test accuracy of each, as a table and as
plot-ready JSON.

Variants (each from the same baseline, pruned towards 95% at each --rtol, the default 0.99
alone; Letter in polynomial steps, fmnist with the binary scheduler, see LOOPS):

  prune16  pruning only at the baseline's 16-bit weights (--objective dsp)
  uniform8 every kept group at 8 bits: --objective dsp-lut --widths 0,8 (8-bit QAT with
           pruning; below the DSP threshold, so no DSP at all)
  uniform6 the same at 6 bits (--widths 0,6)
  joint    --widths 0,4,6,8,16: the multiple-choice knapsack picks each group's width under
           the DSP target and the default LUT budget (the unpruned design's LUTs at 8 bits)
  joint-layer  the same widths at the layer granularity (--width-granularity layer): one
           width per layer, what hls4ml expresses
  joint-u6 joint with --lut-budget the LUTs of uniform6 at the same RF and rtol (run uniform6
           too): joint mode at uniform 6-bit's LUTs
  joint-eq the same widths under one number, --objective lut-eq (LUT + 173 x DSP), its target
           (1 - sparsity) x the unpruned design's LUT-eq

With --synth all each result (--synth front: each point on the Pareto front) also goes
through `hwprune synth` (Verilator co-simulation and the whole Yosys flow): the Yosys DSP and
LUT columns (LUT: the whole design, adders included), and the LUTs of the LUT multiplier
modules (`synth --json`'s per-layer yosys.lut_multipliers). RF 1 designs take about 10 minutes of Yosys each.
--reuse takes the points already pruned in --work as they are (a second run with --synth front
measures the front of a finished sweep).

Several --rtol values trace each variant's accuracy-resource curve; a point is on the Pareto
front of its RF ("pareto": true) when no other point of that RF has at least its test accuracy
with at most its DSPs and at most its LUTs (of the LUT multipliers), one of them strictly
better.

  python3 bench/joint_bench.py --baseline letter-base.hwp [--problem letter|fmnist] [--rf 1 2]
      [--variant prune16 uniform8 uniform6 joint joint-layer joint-u6 joint-eq] [--rtol 0.99 0.98]
      [--synth none|front|all] [--synth-rf 2] [--reuse]
      [--work /tmp/hwprune-joint-bench] [--out bench/results/joint_letter.json]

The baseline is a trained jet-mlp at ap_fixed<16,6> (bench/prune_loop_bench.py's letter
baseline: `hwprune train --model jet-mlp --data letter --epochs 60 --schedule cosine --lr 0.003`),
or for --problem fmnist its fmnist baseline (`hwprune train --model fmnist-cnn --data
fashion-mnist --epochs 3`).
"""
import argparse
import hashlib
import itertools
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prune_loop_bench import ROOT, run  # noqa: E402  (one copy of the step runner)

VARIANTS = {
    "prune16": ["--objective", "dsp"],
    "uniform8": ["--objective", "dsp-lut", "--ranking", "saliency", "--widths", "0,8"],
    "uniform6": ["--objective", "dsp-lut", "--ranking", "saliency", "--widths", "0,6"],
    "joint": ["--objective", "dsp-lut", "--ranking", "saliency", "--widths", "0,4,6,8,16"],
    "joint-layer": ["--objective", "dsp-lut", "--ranking", "saliency", "--widths", "0,4,6,8,16",
                    "--width-granularity", "layer"],
    "joint-u6": ["--objective", "dsp-lut", "--ranking", "saliency", "--widths", "0,4,6,8,16"],
    "joint-eq": ["--objective", "lut-eq", "--ranking", "saliency", "--widths", "0,4,6,8,16"],
}
# The pruning loop of each problem (--problem): Letter as above; Fashion-MNIST as
# bench/prune_loop_bench.py's fmnist (binary scheduler, 3 epochs per step) at RF 2 or the
# closest valid one per layer.
LOOPS = {
    "letter": ["--lr", "0.003", "--final-sparsity", "0.95", "--steps", "10", "--epochs-per-step",
               "10", "--threads", "1", "--solver-time-limit", "2"],
    "fmnist": ["--closest-rf", "--scheduler", "binary", "--final-sparsity", "0.95",
               "--epochs-per-step", "3", "--threads", "1", "--solver-time-limit", "2"],
}
DATA = {"letter": "letter", "fmnist": "fashion-mnist"}


def pareto(points):
    """Marks each point that no other point of its RF dominates (accuracy up, DSP and LUT
    down)."""
    def key(p):
        return (p["acc"], -p["dsp"], -p["lut_mult"])

    for p in points:
        p["pareto"] = not any(
            q is not p and q["rf"] == p["rf"] and all(a >= b for a, b in zip(key(q), key(p)))
            and key(q) != key(p) for q in points)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--problem", default="letter", choices=list(LOOPS))
    ap.add_argument("--data", default="", help="default: the problem's data set")
    ap.add_argument("--rf", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--variant", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--rtol", nargs="+", type=float, default=[0.99])
    ap.add_argument("--synth", choices=["none", "front", "all"], default="none",
                    help="hwprune synth every point, or the Pareto front's")
    ap.add_argument("--synth-rf", nargs="+", type=int, default=[],
                    help="synthesise only the points of these RFs (default: all)")
    ap.add_argument("--work", default="/tmp/hwprune-joint-bench")
    ap.add_argument("--out", default="")
    ap.add_argument("--reuse", action="store_true",
                    help="take a point already pruned in --work (its .point.json) as it is")
    ap.add_argument("--hwprune", default=os.path.join(ROOT, "build", "hwprune"))
    a = ap.parse_args()
    a.data = a.data or DATA[a.problem]
    loop = LOOPS[a.problem]
    os.makedirs(a.work, exist_ok=True)
    points = []
    for rf, v, rtol in itertools.product(a.rf, a.variant, a.rtol):
        tag = "" if rtol == 0.99 else f"-r{rtol:g}"
        out = os.path.join(a.work, f"{v}-rf{rf}{tag}")
        extra = []
        if v == "joint-u6":
            u6 = [p for p in points if (p["rf"], p["variant"], p["rtol"]) == (rf, "uniform6", rtol)]
            if not u6:
                sys.exit("joint-u6 needs the uniform6 variant in the same run")
            extra = ["--lut-budget", str(u6[0]["lut_mult"])]
        if a.reuse and os.path.exists(out + ".point.json"):
            with open(out + ".point.json") as f:
                points.append(json.load(f))
            continue
        wall = run([a.hwprune, "prune", "--model", a.baseline, "--data", a.data, "--rf",
                    str(rf), "--rtol", f"{rtol:g}"] + loop + VARIANTS[v] + extra +
                   ["--out", out + ".hwp", "--json", out + ".json"], out + ".log")
        with open(out + ".json") as f:
            j = json.load(f)
        t, test = j["total"], j.get("test", {})
        p = {"rf": rf, "variant": v, "rtol": rtol, "dsp_base": t["baseline"]["dsp"],
             "dsp": t["final"]["dsp"], "lut_mult": t["final"]["lut_multipliers"],
             "bram18": t["final"]["bram18"],
             "acc_base": test.get("baseline", {}).get("accuracy"),
             "acc": test.get("pruned", {}).get("accuracy"),
             "widths": t["final"].get("weight_widths"), "seconds": round(wall, 1), "out": out}
        with open(out + ".point.json", "w") as f:
            json.dump(p, f)
        points.append(p)
    pareto(points)
    measured = {}  # the same design (identical model file) is synthesised once
    for p in points:
        if (a.synth == "all" or (a.synth == "front" and p["pareto"])) and (
                not a.synth_rf or p["rf"] in a.synth_rf):
            out = p["out"]
            with open(out + ".hwp", "rb") as f:
                key = hashlib.sha256(f.read()).hexdigest()
            if key not in measured:
                run([a.hwprune, "synth", "--model", out + ".hwp", "--data", a.data, "--out",
                     out + "-synth", "--json", out + "-synth.json"], out + "-synth.log")
                with open(out + "-synth.json") as f:
                    s = json.load(f)
                measured[key] = {
                    "yosys_dsp": s["yosys_total"]["dsp"], "yosys_lut": s["yosys_total"]["lut"],
                    "yosys_lut_mult": sum(l["yosys"]["lut_multipliers"] for l in s["layers"]),
                    "cosim_mismatches": s["cosim"]["mismatches"]}
            p.update(measured[key])
        p.pop("out", None)
    print()
    print(f"{'RF':>2} {'variant':11} {'rtol':>5} {'DSP':>13} {'LUT (mult)':>11} {'test acc':>8} {'delta':>8} "
          f"{'Yosys DSP/LUT/LUT mult':>24} {'s':>6} front")
    for p in points:
        y = (f"{p['yosys_dsp']}/{p['yosys_lut']}/{p['yosys_lut_mult']}" if "yosys_dsp" in p
             else "-")
        print(f"{p['rf']:>2} {p['variant']:11} {p['rtol']:>5g} {str(p['dsp_base']) + ' -> ' + str(p['dsp']):>13} "
              f"{p['lut_mult']:>11} {100 * p['acc']:>7.2f}% {100 * (p['acc'] - p['acc_base']):>+7.2f}pp "
              f"{y:>24} {p['seconds']:>6} {'*' if p['pareto'] else ''}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"baseline": a.baseline, "data": a.data, "loop": loop, "points": points}, f,
                      indent=1)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
