#!/usr/bin/python3
"""A jet-sized synthetic classification set for pruning benchmarks (issue 15).

Five classes in 16 features, the jet-tagging shape: every class has a mean whose features
are +1 or -1 (seeded), and a row is its class mean plus unit Gaussian noise. The classes are
Gaussians with one shared covariance, so the Bayes-optimal classifier is linear (16 x 5):
the 16-64-32-32-5 jet-mlp has far more capacity than the problem needs, and most of it can
be pruned. `--noise` scales the noise (harder problem, less compressible).

Writes <out>/jets-train.npz and <out>/jets-test.npz (x: float32 (n, 16), y: int64 (n,)),
for `hwprune ... --data npz:<out>/jets-train.npz --test-data npz:<out>/jets-test.npz`.
Prints the Bayes accuracy of the test rows (the nearest class mean), the ceiling any model
can reach.

  python3 scripts/make-jets.py --out /tmp/jets [--rows 800000] [--test-rows 200000] [--seed 1]
"""
import argparse
import os

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=800000)
    ap.add_argument("--test-rows", type=int, default=200000)
    ap.add_argument("--noise", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    means = rng.choice([-1.0, 1.0], size=(5, 16)).astype(np.float32)
    os.makedirs(a.out, exist_ok=True)
    for name, n in (("train", a.rows), ("test", a.test_rows)):
        y = rng.integers(0, 5, size=n)
        x = means[y] + a.noise * rng.standard_normal((n, 16), dtype=np.float32)
        path = os.path.join(a.out, f"jets-{name}.npz")
        tmp = path + ".tmp.npz"
        np.savez(tmp, x=x.astype(np.float32), y=y.astype(np.int64))
        os.replace(tmp, path)
        if name == "test":
            d = ((x[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
            bayes = float((d.argmin(axis=1) == y).mean())
            print(f"{path}: {n} rows; Bayes accuracy (nearest class mean) {100 * bayes:.2f}%")
        else:
            print(f"{path}: {n} rows")


if __name__ == "__main__":
    main()
