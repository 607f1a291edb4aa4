#!/usr/bin/env python3
"""Pruning-loop benchmark (issue 15): the same baseline pruned by hwprune's loop in several
settings, in one run, with the DSP reduction, the test accuracy and the wall time of each.

Problems (--problem, default letter and jets):

  letter  jet-mlp on UCI Letter (60 epochs of QAT, cosine), pruned for DSPs at RF 4 with the
          README demo's flags: 20 regularisation epochs at alpha 1e-4, polynomial steps to at
          most 90% fewer DSPs, rtol 0.99, up to 40 fine-tuning epochs per step.
  letter-val20  the same with --val-split 0.2 (3,200 validation rows) in train and prune.
  jets    jet-mlp on the jet-sized synthetic set of scripts/make-jets.py (800k rows, 5
          classes, 16 features, a linear Bayes boundary: far more network than the problem
          needs), 5 epochs of QAT, pruned at RF 2: polynomial, 10 steps to at most 95%, up
          to 10 epochs per step, batch 1024.
  fmnist  fmnist-cnn on Fashion-MNIST (3 epochs), RF 2 --closest-rf, objective dsp, binary
          scheduler to 0.85, up to 3 epochs per step, 1 torch thread.
  fmnist24  the same with a converged baseline (24 epochs, cosine) and up to 95% fewer DSPs.
  fmnist-bram, fmnist24-bram  the same baselines and flags with objective dsp-bram.

Variants (--variant, default fixed, default and quick; each on the same baseline):

  fixed     every step trains all its epochs (--patience 0) and the run stops after 3
            rejections: the loop's budget before issue 15 (its repair was different: it
            re-planned below the first failure and never went above it)
  default   hwprune's defaults: all epochs, no cap on rejections (the bisection repair
            with retries after a clear acceptance ends at --min-step)
  quick     patience 1, an epoch must improve the metric by more than 0.05 pp
  strict    the defaults with --rtol 0.997 (0.3% relative validation tolerance instead of 1%)
  rtol995, fixed995  default and fixed with --rtol 0.995
  rewind995  rtol995 with 5 unmasked epochs before each ranking (--rewind-epochs 5)
  distill, distill995  default and rtol995 with distillation from the unpruned model
            (--distill 0.5, temperature 4)

Prints one table, and with several --seeds (one baseline and one run per seed) the mean,
min and max of each problem and variant. Everything lands in --work (default /tmp/hwprune-loop-bench); data and
baselines are reused when present. Only the standard library (and numpy through
scripts/make-jets.py) is used.

  python3 bench/prune_loop_bench.py [--problem letter jets] [--variant fixed default quick]
      [--seeds 1 2 3] [--work dir] [--hwprune build/hwprune]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

VARIANTS = {
    "fixed": ["--patience", "0", "--max-bad-trials", "3"],
    "default": [],
    "quick": ["--patience", "1", "--min-improvement", "0.0005"],
    "strict": ["--rtol", "0.997"],
    "rtol995": ["--rtol", "0.995"],
    "fixed995": ["--patience", "0", "--max-bad-trials", "3", "--rtol", "0.995"],
    "rewind995": ["--rewind-epochs", "5", "--rtol", "0.995"],
    "distill": ["--distill", "0.5"],
    "distill995": ["--distill", "0.5", "--rtol", "0.995"],
}


def problems(work):
    jets = os.path.join(work, "jets")
    ps = {
        "letter": {
            "data": ["--data", "letter"],
            "train": ["--model", "jet-mlp", "--epochs", "60", "--schedule", "cosine", "--lr",
                      "0.003", "--threads", "1"],
            "prune": ["--rf", "4", "--objective", "dsp", "--lr", "0.003", "--reg-epochs", "20",
                      "--alpha", "0.0001", "--final-sparsity", "0.9", "--steps", "20",
                      "--epochs-per-step", "40", "--threads", "1"],
        },
        "jets": {
            "make": [sys.executable, os.path.join(ROOT, "scripts", "make-jets.py"), "--out",
                     jets],
            "data": ["--data", f"npz:{jets}/jets-train.npz", "--test-data",
                     f"npz:{jets}/jets-test.npz"],
            "train": ["--model", "jet-mlp", "--epochs", "5", "--batch-size", "1024", "--lr",
                      "0.003", "--schedule", "cosine", "--threads", "1"],
            "prune": ["--rf", "2", "--objective", "dsp", "--final-sparsity", "0.95", "--steps",
                      "10", "--epochs-per-step", "10", "--batch-size", "1024", "--lr", "0.003",
                      "--threads", "1"],
        },
        "fmnist": {
            "data": ["--data", "fashion-mnist"],
            "train": ["--model", "fmnist-cnn", "--epochs", "3"],
            "prune": ["--rf", "2", "--closest-rf", "--objective", "dsp", "--scheduler", "binary",
                      "--final-sparsity", "0.85", "--epochs-per-step", "3", "--threads", "1"],
        },
    }
    # Letter with twice the validation rows (3,200: the standard error of a 94% accuracy
    # drops from 0.59 to 0.42 pp), for the baseline and the pruning alike.
    ps["letter-val20"] = {k: list(v) for k, v in ps["letter"].items()}
    ps["letter-val20"]["train"] += ["--val-split", "0.2"]
    ps["letter-val20"]["prune"] += ["--val-split", "0.2"]
    # Converged: 24 epochs (the 3 + 21 epochs the pruned model of "fmnist" gets in all), so
    # fine-tuning cannot gain accuracy the baseline only lacked for want of training.
    ps["fmnist24"] = dict(ps["fmnist"])
    ps["fmnist24"]["train"] = ["--model", "fmnist-cnn", "--epochs", "24", "--schedule", "cosine"]
    ps["fmnist24"]["prune"] = [("0.95" if x == "0.85" else x) for x in ps["fmnist"]["prune"]]
    for name in ("fmnist", "fmnist24"):
        b = dict(ps[name])
        b["base"] = name
        b["prune"] = [("dsp-bram" if x == "dsp" else x) for x in b["prune"]]
        ps[name + "-bram"] = b
    return ps


def run(cmd, log):
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    with open(log, "w") as f:
        rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT,
                             env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
    if rc != 0:
        with open(log) as f:
            tail = f.read()[-2000:]
        sys.exit(f"{os.path.basename(sys.argv[0])}: step failed (exit {rc}), see {log}:\n{tail}")
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", nargs="+", default=["letter", "jets"],
                    choices=["letter", "letter-val20", "jets", "fmnist", "fmnist-bram", "fmnist24",
                             "fmnist24-bram"])
    ap.add_argument("--variant", nargs="+", default=["fixed", "default", "quick"],
                    choices=list(VARIANTS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1],
                    help="one baseline and one run per seed (--seed of train and prune)")
    ap.add_argument("--work", default="/tmp/hwprune-loop-bench")
    ap.add_argument("--hwprune", default=os.path.join(ROOT, "build", "hwprune"))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rows = []
    for name in a.problem:
        p = problems(a.work)[name]
        if "make" in p and not os.path.exists(os.path.join(a.work, "jets", "jets-test.npz")):
            run(p["make"], os.path.join(a.work, f"{name}-data.log"))
        for seed in a.seeds:
            tag = "" if seed == 1 else f"-s{seed}"
            seeded = [] if seed == 1 else ["--seed", str(seed)]
            bname = p.get("base", name) + tag
            base = os.path.join(a.work, f"{bname}-base.hwp")
            if not os.path.exists(base):
                run([a.hwprune, "train"] + p["train"] + p["data"] + seeded + ["--out", base],
                    os.path.join(a.work, f"{bname}-train.log"))
            for v in a.variant:
                out = os.path.join(a.work, f"{name}{tag}-{v}")
                wall = run([a.hwprune, "prune", "--model", base] + p["data"] + p["prune"] +
                           VARIANTS[v] + seeded +
                           ["--out", out + ".hwp", "--json", out + ".json"], out + ".log")
                with open(out + ".json") as f:
                    j = json.load(f)
                t = j["total"]
                test = j.get("test", {})
                rows.append((name, v, seed, t["baseline"]["dsp"], t["final"]["dsp"],
                             t["baseline"]["bram18"], t["final"]["bram18"],
                             test.get("baseline", {}).get("accuracy", float("nan")),
                             test.get("pruned", {}).get("accuracy", float("nan")),
                             len(j["steps"]) - 1, wall))
    print()
    print(f"{'problem':13} {'variant':8} {'seed':>4} {'DSP':>14} {'ratio':>6} {'BRAM18':>12} "
          f"{'ratio':>6} {'test acc base/pruned':>22} {'delta':>8} {'trials':>6} {'wall s':>7}")
    for name, v, seed, d0, d1, b0, b1, a0, a1, trials, wall in rows:
        print(f"{name:13} {v:8} {seed:>4} {f'{d0} -> {d1}':>14} {d0 / max(d1, 1):>5.2f}x "
              f"{f'{b0} -> {b1}':>12} {b0 / max(b1, 1):>5.2f}x "
              f"{f'{100 * a0:.2f}% / {100 * a1:.2f}%':>22} {100 * (a1 - a0):>+7.2f}pp "
              f"{trials:>6} {wall:>7.1f}")
    if len(a.seeds) > 1:
        print()
        print(f"{'problem':13} {'variant':8} {'DSP ratio mean (min-max)':>26} "
              f"{'delta mean (worst)':>20} {'wall mean':>9}")
        for name in a.problem:
            for v in a.variant:
                sel = [r for r in rows if r[0] == name and r[1] == v]
                ratios = [r[3] / max(r[4], 1) for r in sel]
                deltas = [100 * (r[8] - r[7]) for r in sel]
                walls = [r[10] for r in sel]
                print(f"{name:13} {v:8} "
                      f"{f'{statistics.mean(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})':>26} "
                      f"{f'{statistics.mean(deltas):+.2f} ({min(deltas):+.2f}) pp':>20} "
                      f"{statistics.mean(walls):>8.1f}s")

if __name__ == "__main__":
    main()
