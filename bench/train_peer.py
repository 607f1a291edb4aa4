"""The benchmark's peer: the same training loop as hwprune's engine, in python3-torch.

Same model (16-64-32-32-5, x @ W + b with W as (in, out)), same ap_fixed<16,6> fake
quantizer as the engine uses while training (AP_TRN rounding, saturating where the type
wraps, straight-through gradient) on inputs, weights, biases and results, the same range
penalty on results, same masks (forward W * mask, masked weights zeroed after each step),
Adam, cross-entropy, seeded per-epoch shuffling, one torch thread. Prints samples/s.
Run by build/bench/train_bench, which writes the data, initial weights and masks.
"""
import argparse
import os
import time

import numpy as np
import torch

from peer_common import forward_train, loaded_blas


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x = torch.from_numpy(np.load(os.path.join(a.dir, "x.npy")))
    y = torch.from_numpy(np.load(os.path.join(a.dir, "y.npy"))).long()
    init = np.load(os.path.join(a.dir, "init.npz"))
    names = ["fc1", "fc2", "fc3", "output"]
    ws = [torch.tensor(init[n + "_kernel"], requires_grad=True) for n in names]
    bs = [torch.tensor(init[n + "_bias"], requires_grad=True) for n in names]
    ms = [torch.tensor(init[n + "_mask"]) for n in names]
    opt = torch.optim.Adam(ws + bs, lr=1e-3)
    n = x.shape[0]
    gen = torch.Generator().manual_seed(a.seed)
    total_time, correct = 0.0, 0
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        correct = 0
        for start in range(0, n, a.batch_size):
            idx = perm[start:start + a.batch_size]
            yb = y.index_select(0, idx)
            h, penalty = forward_train(x.index_select(0, idx), ws, bs, ms)
            loss = torch.nn.functional.cross_entropy(h, yb)
            opt.zero_grad()
            (loss + penalty).backward()
            opt.step()
            with torch.no_grad():
                for w, m in zip(ws, ms):
                    w.masked_fill_(m == 0, 0.0)
            correct += (h.argmax(1) == yb).sum().item()
        total_time += time.perf_counter() - t0
    print(f"samples_per_second {n * a.epochs / total_time:.1f}")
    print(f"train_accuracy {correct / n:.4f}")
    print(f"blas {loaded_blas()}")


if __name__ == "__main__":
    main()
