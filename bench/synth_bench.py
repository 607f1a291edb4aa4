#!/usr/bin/env python3
"""Whole-network synthesis benchmark: jet-mlp on Letter, unpruned and pruned, through Yosys.

For every reuse factor (default 2 and 4) it runs, with the hwprune binary:

  train   jet-mlp, ap_fixed<16,6> QAT, 60 epochs, cosine schedule (once, shared by all RFs)
  prune   `hwprune prune --objective dsp` at that RF (Resource strategy) within 1% relative
          validation accuracy
  synth   `hwprune synth` of the baseline and of the pruned model at that RF: Verilog,
          Verilator co-simulation on 1,000 Letter test rows against the bit-exact integer
          model, Yosys synth_xilinx (xc7, whole flow)

and prints one table: DSP, BRAM18, LUT, FF and latency, estimate vs Yosys (latency: estimate
vs the generated RTL, measured in co-simulation), baseline vs pruned, with the wall time of
each step, then the baseline/pruned ratios. Everything lands in --work (default
/tmp/hwprune-synth-bench); a step whose output is already there is not run again unless
--fresh is given. Only the standard library is used.

  python3 bench/synth_bench.py                      # build/hwprune, RF 2 and 4
  python3 bench/synth_bench.py --rf 4 --work /tmp/sb --hwprune build/hwprune
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TRAIN = ["--model", "jet-mlp", "--data", "letter", "--epochs", "60", "--schedule", "cosine",
         "--lr", "0.003", "--threads", "1"]
PRUNE = ["--data", "letter", "--objective", "dsp", "--lr", "0.003", "--epochs-per-step", "40",
         "--final-sparsity", "0.9", "--steps", "20", "--reg-epochs", "20", "--alpha", "0.0001",
         "--max-bad-trials", "6", "--threads", "1"]


def run(cmd, log):
    """Runs cmd with its output in log; returns the wall time, or None when the step's outputs
    exist (not re-run). Exits with the log's tail on failure."""
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    with open(log, "w") as f:
        rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
    wall = time.monotonic() - t0
    if rc != 0:
        with open(log) as f:
            tail = f.read()[-2000:]
        sys.exit(f"synth_bench: step failed (exit {rc}), see {log}:\n{tail}")
    return wall


def step(name, outputs, cmd, args, times):
    log = os.path.join(args.work, name + ".log")
    if not args.fresh and all(os.path.exists(o) for o in outputs):
        print(f"(reusing {name}: {', '.join(outputs)})")
        try:
            with open(os.path.join(args.work, name + ".seconds")) as f:
                times[name] = float(f.read())
        except OSError:
            times[name] = float("nan")
        return
    for o in outputs:  # never mix a stale output with a new run
        if os.path.exists(o):
            os.remove(o)
    times[name] = run(cmd, log)
    with open(os.path.join(args.work, name + ".seconds"), "w") as f:
        f.write(f"{times[name]:.1f}\n")


def cell(est, act):
    return f"{est} = {act}" if est == act else f"{est} / {act} ({act - est:+d})"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hwprune", default=os.path.join(ROOT, "build", "hwprune"))
    p.add_argument("--work", default="/tmp/hwprune-synth-bench")
    p.add_argument("--rf", type=int, nargs="+", default=[2, 4])
    p.add_argument("--samples", type=int, default=1000, help="co-simulated test rows")
    p.add_argument("--fresh", action="store_true", help="run every step again")
    args = p.parse_args()
    if not os.access(args.hwprune, os.X_OK):
        sys.exit(f"synth_bench: {args.hwprune} is not an executable (build it first: "
                 "cmake --build build --target hwprune)")
    os.makedirs(args.work, exist_ok=True)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    w = lambda *parts: os.path.join(args.work, *parts)
    times = {}

    base = w("baseline.hwp")
    step("train", [base], [args.hwprune, "train", *TRAIN, "--out", base], args, times)
    rows = []
    for rf in args.rf:
        pruned, pjson = w(f"pruned_rf{rf}.hwp"), w(f"prune_rf{rf}.json")
        step(f"prune_rf{rf}", [pruned, pjson],
             [args.hwprune, "prune", "--model", base, "--rf", str(rf), *PRUNE, "--out", pruned,
              "--json", pjson], args, times)
        with open(pjson) as f:
            pj = json.load(f)
        for kind, model in (("baseline", base), ("pruned", pruned)):
            name = f"synth_{kind}_rf{rf}"
            sjson = w(name + ".json")
            step(name, [sjson],
                 [args.hwprune, "synth", "--model", model, "--rf", str(rf), "--data", "letter",
                  "--samples", str(args.samples), "--out", w(name), "--json", sjson], args, times)
            with open(sjson) as f:
                sj = json.load(f)
            rows.append({"rf": rf, "kind": kind, "synth": sj, "seconds": times[name],
                         "qat_accuracy": pj["test"][kind]["accuracy"],
                         "prune_seconds": times[f"prune_rf{rf}"]})

    print(f"\njet-mlp on Letter, ap_fixed<16,6>, Resource, xc7; estimate vs Yosys synth_xilinx "
          f"(latency: estimate vs RTL measured in co-simulation); training {times['train']:.0f} s")
    head = ["RF", "design", "DSP est/yosys", "BRAM18 est/yosys", "LUT", "FF est/yosys",
            "latency est/rtl", "II", "test acc QAT / int", "cosim", "synth s"]
    table = [head]
    for r in rows:
        s, e, y, c = r["synth"], r["synth"]["estimate_total"], r["synth"]["yosys_total"], \
            r["synth"]["cosim"]
        table.append([str(r["rf"]), r["kind"], cell(e["dsp"], y["dsp"]),
                      cell(e["bram18"], y["bram18"]), str(y["lut"]), cell(e["ff"], y["ff"]),
                      cell(e["latency_cycles"], c["latency_cycles"]), str(c["interval_cycles"]),
                      f"{100 * r['qat_accuracy']:.2f}% / "
                      f"{100 * s['integer_vs_qat']['integer_model_accuracy']:.2f}%",
                      f"{c['mismatches']}/{c['samples']}", f"{r['seconds']:.0f}"])
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for i, row in enumerate(table):
        print("| " + " | ".join(x.ljust(widths[k]) for k, x in enumerate(row)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (wd + 2) for wd in widths) + "|")
    print("\nbaseline / pruned (Yosys):")
    for rf in args.rf:
        b = next(r for r in rows if r["rf"] == rf and r["kind"] == "baseline")["synth"]
        q = next(r for r in rows if r["rf"] == rf and r["kind"] == "pruned")
        yb, yq = b["yosys_total"], q["synth"]["yosys_total"]
        ratios = ", ".join(f"{k.upper()} {yb[k] / yq[k]:.2f}x" if yq[k] else f"{k.upper()} -"
                           for k in ("dsp", "bram18", "lut", "ff"))
        print(f"  RF {rf}: {ratios}; prune {q['prune_seconds']:.0f} s; "
              f"synthesis {b['yosys_total']['seconds']:.0f} s -> "
              f"{q['synth']['yosys_total']['seconds']:.0f} s")
    with open(w("summary.json"), "w") as f:
        json.dump({"train_seconds": times["train"], "rows": rows}, f, indent=1)
    mismatches = sum(r["synth"]["cosim"]["mismatches"] for r in rows)
    if mismatches:
        sys.exit(f"synth_bench: {mismatches} co-simulation mismatches")


if __name__ == "__main__":
    main()
