#!/usr/bin/env python3
"""Start-up of the hwprune command: median wall time of N runs of commands that do not train,
and the number of shared objects the dynamic loader initialises, for this build and, with
--before, for another build (e.g. an older commit) measured in the same run.

    python3 bench/startup_bench.py [--binary build/hwprune] [--before /tmp/old/hwprune] [--runs 20]

Target (issue: instant start-up): <= 50 ms for `--version` and for `estimate --model jet-mlp
--rf 2`. docs/startup.md explains the design and holds the measured figures.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = [
    ["--version"],
    ["estimate", "--model", "jet-mlp", "--rf", "2"],
    ["--help"],
    ["inspect", "--help"],
]


def env_for(binary, **extra):
    # The libraries beside a copied binary win over the build folder its RUNPATH names.
    folder = os.path.dirname(os.path.abspath(binary))
    return dict(os.environ, LD_LIBRARY_PATH=folder, **extra)


def median_seconds(binary, args, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env=env_for(binary))
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            sys.exit(f"{binary} {' '.join(args)} failed: {r.stderr.decode().strip()}")
    return statistics.median(times)


def shared_objects(binary, args):
    env = env_for(binary, LD_DEBUG="files")
    r = subprocess.run([binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    return sum(1 for line in r.stderr.decode(errors="replace").splitlines() if "calling init" in line)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default=os.path.join(here, "..", "build", "hwprune"))
    p.add_argument("--before", help="another hwprune binary to compare with")
    p.add_argument("--runs", type=int, default=20)
    a = p.parse_args()
    builds = [("this build", a.binary)] + ([("before", a.before)] if a.before else [])
    print(f"median of {a.runs} runs; shared objects = 'calling init' lines of LD_DEBUG=files")
    print(f"{'command':<42} " + " ".join(f"{name:>22}" for name, _ in builds) +
          ("   ratio" if a.before else ""))
    true = median_seconds("/bin/true", [], a.runs)
    print(f"{'(/bin/true: what starting any process costs here)':<42} {1000 * true:8.1f} ms")
    for args in COMMANDS:
        cells, seconds = [], []
        for _, binary in builds:
            s = median_seconds(binary, args, a.runs)
            n = shared_objects(binary, args)
            seconds.append(s)
            cells.append(f"{1000 * s:8.1f} ms {n:4d} objects")
        ratio = f"  {seconds[1] / seconds[0]:5.1f}x" if a.before else ""
        print(f"{' '.join(args):<42} " + " ".join(f"{c:>22}" for c in cells) + ratio)


if __name__ == "__main__":
    main()
