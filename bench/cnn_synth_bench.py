#!/usr/bin/env python3
"""Whole-CNN synthesis benchmark: fmnist-cnn on Fashion-MNIST (baseline and pruned) and the
svhn-cnn shape, through the streaming Verilog, Verilator and Yosys.

With the hwprune binary it runs:

  train   fmnist-cnn on Fashion-MNIST, ap_fixed<16,6> QAT (--epochs, default 5)
  prune   `hwprune prune --objective dsp` at --rf (default 2; --closest-rf: conv1 takes the
          closest valid RF), binary scheduler to sparsity 0.85, 1 fine-tuning epoch per step
  synth   `hwprune synth` of the baseline and the pruned model: streaming Verilog, Verilator
          co-simulation on 1,000 Fashion-MNIST test images against the bit-exact integer
          model, Yosys synth_xilinx (xc7, whole flow)
  svhn    the svhn-cnn shape (32x32x3; the SVHN data is not available here) trained for one
          epoch on seeded random images (weights near their initialisation), synthesised at
          --svhn-rf (default 3, --closest-rf), co-simulated on 200 of those images

and prints one table: DSP, BRAM18, LUT, FF, estimate vs Yosys; latency (estimate: the sum of
the layers' own latencies, which overlap in the stream) vs co-simulation; cycles per image
(II); co-simulation mismatches; wall times. Everything lands in --work (default
/tmp/hwprune-cnn-bench); a step whose output exists is reused unless --fresh is given.
Needs Debian's python3-numpy for the random SVHN-shaped images.

  /usr/bin/python3 bench/cnn_synth_bench.py
  /usr/bin/python3 bench/cnn_synth_bench.py --rf 4 --work /tmp/cb --skip-svhn
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synth_bench import cell, step  # noqa: E402  (one copy of the step runner)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hwprune", default=os.path.join(ROOT, "build", "hwprune"))
    p.add_argument("--work", default="/tmp/hwprune-cnn-bench")
    p.add_argument("--rf", type=int, default=2)
    p.add_argument("--svhn-rf", type=int, default=3)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--samples", type=int, default=1000, help="co-simulated test images")
    p.add_argument("--skip-svhn", action="store_true")
    p.add_argument("--fresh", action="store_true", help="run every step again")
    args = p.parse_args()
    if not os.access(args.hwprune, os.X_OK):
        sys.exit(f"cnn_synth_bench: {args.hwprune} is not an executable (build it first)")
    os.makedirs(args.work, exist_ok=True)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    w = lambda *parts: os.path.join(args.work, *parts)
    hw = args.hwprune
    times = {}
    rows = []

    base, pruned, pjson = w("fmnist.hwp"), w("fmnist_pruned.hwp"), w("prune.json")
    step("train", [base], [hw, "train", "--model", "fmnist-cnn", "--data", "fashion-mnist",
                           "--epochs", str(args.epochs), "--threads", "2", "--out", base],
         args, times)
    step("prune", [pruned, pjson],
         [hw, "prune", "--model", base, "--data", "fashion-mnist", "--rf", str(args.rf),
          "--closest-rf", "--objective", "dsp", "--scheduler", "binary", "--final-sparsity",
          "0.85", "--epochs-per-step", "1", "--threads", "2", "--json", pjson, "--out", pruned],
         args, times)
    with open(pjson) as f:
        pj = json.load(f)
    for kind, model in (("baseline", base), ("pruned", pruned)):
        name = f"synth_fmnist_{kind}"
        sjson = w(name + ".json")
        step(name, [sjson],
             [hw, "synth", "--model", model, "--rf", str(args.rf), "--closest-rf", "--data",
              "fashion-mnist", "--samples", str(args.samples), "--out", w(name), "--json",
              sjson], args, times)
        with open(sjson) as f:
            rows.append({"net": "fmnist-cnn", "rf": args.rf, "kind": kind, "synth": json.load(f),
                         "seconds": times[name],
                         "accuracy": f"{100 * pj['test'][kind]['accuracy']:.2f}%"})

    if not args.skip_svhn:
        x, y, svhn = w("svhn_x.npy"), w("svhn_y.npy"), w("svhn.hwp")
        if args.fresh or not os.path.exists(x):
            import numpy as np
            r = np.random.default_rng(1)
            np.save(x, r.random((1200, 32, 32, 3), dtype=np.float32))
            np.save(y, r.integers(0, 10, 1200).astype(np.int64))
        data = f"npy:{x},labels={y}"
        step("train_svhn", [svhn], [hw, "train", "--model", "svhn-cnn", "--data", data,
                                    "--epochs", "1", "--threads", "2", "--out", svhn],
             args, times)
        sjson = w("synth_svhn.json")
        step("synth_svhn", [sjson],
             [hw, "synth", "--model", svhn, "--rf", str(args.svhn_rf), "--closest-rf", "--data",
              data, "--samples", "200", "--out", w("synth_svhn"), "--json", sjson], args, times)
        with open(sjson) as f:
            rows.append({"net": "svhn-cnn", "rf": args.svhn_rf, "kind": "random weights",
                         "synth": json.load(f), "seconds": times["synth_svhn"],
                         "accuracy": "-"})

    print(f"\nxc7, ap_fixed<16,6>, Resource (RF 1 layers: Latency), streaming Conv/pooling; "
          f"estimate vs Yosys synth_xilinx; training {times['train']:.0f} s, "
          f"pruning {times['prune']:.0f} s")
    head = ["network", "RF", "design", "DSP est/yosys", "BRAM18 est/yosys", "LUT",
            "FF est/yosys", "latency est-sum/cosim", "II", "QAT acc", "cosim", "synth s"]
    table = [head]
    for r in rows:
        s = r["synth"]
        e, yo, c = s["estimate_total"], s["yosys_total"], s["cosim"]
        table.append([r["net"], str(r["rf"]), r["kind"], cell(e["dsp"], yo["dsp"]),
                      cell(e["bram18"], yo["bram18"]), str(yo["lut"]), f"{e['ff']} / {yo['ff']}",
                      f"{e['latency_cycles']} / {c['latency_cycles']}", str(c["interval_cycles"]),
                      r["accuracy"], f"{c['mismatches']}/{c['samples']}", f"{r['seconds']:.0f}"])
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for i, row in enumerate(table):
        print("| " + " | ".join(x.ljust(widths[k]) for k, x in enumerate(row)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (wd + 2) for wd in widths) + "|")
    b, q = rows[0]["synth"]["yosys_total"], rows[1]["synth"]["yosys_total"]
    print("\nfmnist-cnn baseline / pruned (Yosys): " + ", ".join(
        f"{k.upper()} {b[k] / q[k]:.2f}x" if q[k] else f"{k.upper()} -"
        for k in ("dsp", "bram18", "lut", "ff")))
    print("per layer (pruned fmnist-cnn): " + "; ".join(
        f"{l['name']} DSP {l['estimate']['dsp']}/{l['yosys']['dsp']} BRAM18 "
        f"{l['estimate']['bram18']}/{l['yosys']['bram18']}"
        for l in rows[1]["synth"]["layers"]))
    with open(w("summary.json"), "w") as f:
        json.dump({"times": times, "rows": rows}, f, indent=1)
    mismatches = sum(r["synth"]["cosim"]["mismatches"] for r in rows)
    if mismatches:
        sys.exit(f"cnn_synth_bench: {mismatches} co-simulation mismatches")


if __name__ == "__main__":
    main()
