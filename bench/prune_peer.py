"""The pruning benchmark's peer: hwprune's pruning loop for the dsp objective, in python3-torch.

The same run as `hwprune::prune::prune` with objective dsp, every layer at reuse factor RF
(Resource strategy), L2 ranking, a constant scheduler, a fixed group-lasso strength and no
regularisation epochs:

  baseline = validation accuracy of the start model
  for each target sparsity s (constant steps, repaired like hwprune's constant scheduler):
    rank    every hls4ml multiplier ("pattern": Dense kernel (n_in, n_out) viewed transposed
            as (n_out, n_in), flattened t = o*n_in + i, multiplier m owns t in [m*RF,
            (m+1)*RF)) by the L2 norm of its unmasked weights, normalised per layer by the
            mean of the layer's non-zero norms
    select  keep the best floor((1 - s) * N) live multipliers: every multiplier costs one
            DSP, so the greedy choice by value is the knapsack optimum
    mask    the dropped multipliers' weights; with --zero-dead-channels, a neuron whose
            kernel column is fully masked has its bias held at 0 (after every step)
    tune    fresh Adam, masked quantization-aware training for --epochs-per-step epochs with
            the group lasso alpha * sum_g sqrt(|g|) * ||w_g||_2 added to the loss
    accept  if val accuracy >= rtol * baseline (else revert and bisect between the last
            accepted and the failed target, as hwprune's repair; the peer never retries a
            failed target after a clear acceptance, which hwprune may)

The training step is bench/train_peer.py's (ap_fixed<16,6> fake quantizer with a straight-
through gradient on inputs, weights, biases and results, the range penalty, masks);
evaluation wraps results like hwprune's inference mode. Prints one `step ...` line per step
and `wall_seconds` for the whole loop (data loading and `import torch` excluded).

Run by build/bench/prune_bench, which writes the data and the start model to --dir; without
--dir it makes its own synthetic data and a random start model (a smoke test).
"""
import argparse
import math
import os
import time

import numpy as np
import torch

from peer_common import HI, LO, SCALE, forward_train, loaded_blas, quantize, quantize_wrap


NAMES = ["fc1", "fc2", "fc3", "output"]

def groups_of(w, rf):
    """(n_in, n_out) kernel -> (n_out * n_in / rf, rf): row m is multiplier m's weights."""
    return w.t().reshape(-1, rf)


def group_mask_to_kernel(keep, n_in, n_out, rf):
    return keep.repeat_interleave(rf).view(n_out, n_in).t().contiguous()


class Net:
    def __init__(self, kernels, biases, rf):
        self.ws = [torch.tensor(k, requires_grad=True) for k in kernels]
        self.bs = [torch.tensor(b, requires_grad=True) for b in biases]
        self.ms = [torch.ones_like(w) for w in self.ws]
        self.rf = rf
        self.dead = [torch.zeros(b.shape[0], dtype=torch.bool) for b in self.bs]

    def state(self):
        return ([w.detach().clone() for w in self.ws], [b.detach().clone() for b in self.bs],
                [m.clone() for m in self.ms])

    def load(self, st):
        with torch.no_grad():
            for w, b, i in zip(self.ws, self.bs, range(len(self.ws))):
                w.copy_(st[0][i])
                b.copy_(st[1][i])
        self.ms = [m.clone() for m in st[2]]
        self.update_dead()

    def update_dead(self):
        self.dead = [m.sum(0) == 0 for m in self.ms]

    def hold(self, zero_dead):
        """Masked weights (and, with zero_dead, dead neurons' biases) back to exactly 0."""
        with torch.no_grad():
            for w, m in zip(self.ws, self.ms):
                w.masked_fill_(m == 0, 0.0)
            if zero_dead:
                for b, d in zip(self.bs, self.dead):
                    b.masked_fill_(d, 0.0)

    def forward_train(self, xb):
        return forward_train(xb, self.ws, self.bs, self.ms)

    @torch.no_grad()
    def forward_eval(self, xb):
        h = quantize_wrap(xb)
        for i in range(4):
            h = torch.addmm(quantize(self.bs[i]), h, quantize(self.ws[i] * self.ms[i]))
            h = quantize_wrap(h)
            if i < 3:
                h = quantize_wrap(torch.relu(h))
        return h

    def group_lasso(self, alpha):
        """alpha * sum_g sqrt(|g|) * ||w_g||_2 over every layer (per-layer factor 1)."""
        reg = 0.0
        for w, m in zip(self.ws, self.ms):
            reg = reg + torch.linalg.vector_norm(groups_of(w * m, self.rf), dim=1).sum()
        return alpha * math.sqrt(self.rf) * reg

    @torch.no_grad()
    def scores(self):
        """Per layer: L2 norm of each group's unmasked weights over the layer's non-zero mean."""
        out = []
        for w, m in zip(self.ws, self.ms):
            v = torch.linalg.vector_norm(groups_of((w * m).double(), self.rf), dim=1)
            nz = v[v > 0]
            out.append(v / nz.mean() if nz.numel() else v)
        return out

    @torch.no_grad()
    def live_groups(self):
        """Groups with an unmasked weight (pruned before this step: all masked)."""
        return [groups_of(m, self.rf).ne(0).any(1) for m in self.ms]

    @torch.no_grad()
    def dsp(self):
        """Live multipliers: an unmasked weight that does not quantize to 0 (saturating TRN)."""
        total = 0
        for w, m in zip(self.ws, self.ms):
            raw = torch.clamp(torch.floor(w * SCALE), LO, HI)
            live = (m != 0) & (raw != 0)
            total += int(groups_of(live, self.rf).any(1).sum())
        return total

    def apply_keep(self, keeps):
        for i, keep in enumerate(keeps):
            n_in, n_out = self.ws[i].shape
            self.ms[i] = self.ms[i] * group_mask_to_kernel(keep.float(), n_in, n_out, self.rf)
        self.update_dead()


def evaluate(net, x, y, bs=256):
    correct, loss_sum = 0, 0.0
    for start in range(0, x.shape[0], bs):
        out = net.forward_eval(x[start:start + bs])
        yb = y[start:start + bs]
        loss_sum += torch.nn.functional.cross_entropy(out, yb).item() * yb.shape[0]
        correct += int((out.argmax(1) == yb).sum())
    return correct / x.shape[0], loss_sum / x.shape[0]


def fine_tune(net, x, y, a, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.ws + net.bs, lr=a.lr)
    n = x.shape[0]
    net.hold(a.zero_dead_channels)
    for _ in range(a.epochs_per_step):
        perm = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, a.batch_size):
            idx = perm[start:start + a.batch_size]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            out, penalty = net.forward_train(xb)
            loss = torch.nn.functional.cross_entropy(out, yb)
            opt.zero_grad()
            # Like hwprune, no regulariser at all when alpha is 0.
            total = loss + penalty
            if a.alpha > 0:
                total = total + net.group_lasso(a.alpha)
            total.backward()
            opt.step()
            net.hold(a.zero_dead_channels)
            l = loss.item()
            if not math.isfinite(l):
                raise SystemExit(f"training diverged: loss {l}")
            loss_sum += l * yb.shape[0]
            correct += int((out.argmax(1) == yb).sum())


def select(net, target, total_groups):
    """Keep the floor((1 - target) * N) highest-scoring live groups (unit DSP costs)."""
    scores, live = net.scores(), net.live_groups()
    flat = torch.cat(scores)
    alive = torch.cat(live)
    budget = int(math.floor((1.0 - target) * total_groups + 1e-9))
    flat = torch.where(alive, flat, torch.full_like(flat, -1.0))
    order = torch.argsort(flat, descending=True, stable=True)
    keep = torch.zeros_like(alive)
    chosen = order[:budget]
    keep[chosen] = alive[chosen]
    return list(torch.split(keep, [s.numel() for s in scores]))


class ConstantScheduler:
    """hwprune's constant scheduler (src/prune/scheduler.cpp)."""

    def __init__(self, step, final, min_step=0.01):
        self.lo, self.step, self.final, self.min_step = 0.0, step, final, min_step
        self.failed = None

    def above_lo(self, target):
        target = min(target, self.final)
        is_final = abs(target - self.final) < 1e-12 and self.lo < target - 1e-12
        if not is_final and target - self.lo < self.min_step - 1e-12:
            return None
        return target

    def first(self):
        return self.above_lo(self.lo + self.step)

    def bisect(self):
        if self.failed - self.lo < self.min_step - 1e-12:
            return None
        return 0.5 * (self.lo + self.failed)

    def accepted(self, target):
        self.lo = max(self.lo, target)
        if self.failed is not None:
            if self.lo < self.failed - 1e-12:
                return self.bisect()
            self.failed = None
        if self.lo >= self.final - 1e-12:
            return None
        return self.above_lo(self.lo + self.step)

    def rejected(self, target):
        self.failed = target if self.failed is None else min(self.failed, target)
        return self.bisect()


def synthetic(rows, seed):
    rng = np.random.default_rng(seed)
    means = rng.choice([-1.0, 1.0], size=(5, 16)).astype(np.float32)
    labels = rng.integers(0, 5, size=rows)
    x = means[labels] + rng.standard_normal((rows, 16), dtype=np.float32)
    return x, labels.astype(np.float32)


def load(a):
    if a.dir:
        arr = {k: np.load(os.path.join(a.dir, k + ".npy")) for k in ("x", "y", "xv", "yv")}
        init = np.load(os.path.join(a.dir, "init.npz"))
        kernels = [init[n + "_kernel"] for n in NAMES]
        biases = [init[n + "_bias"] for n in NAMES]
    else:  # smoke test: own data, random start model
        x, y = synthetic(a.rows + a.rows // 5, a.seed)
        arr = {"x": x[:a.rows], "y": y[:a.rows], "xv": x[a.rows:], "yv": y[a.rows:]}
        rng = np.random.default_rng(a.seed + 1)
        dims = [16, 64, 32, 32, 5]
        kernels = [(rng.standard_normal((i, o)) * math.sqrt(2.0 / (i + o))).astype(np.float32)
                   for i, o in zip(dims, dims[1:])]
        biases = [np.zeros(o, np.float32) for o in dims[1:]]
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arr.items()}
    return t["x"], t["y"].long(), t["xv"], t["yv"].long(), kernels, biases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", help="x/y/xv/yv.npy and init.npz (from prune_bench)")
    ap.add_argument("--rows", type=int, default=20000, help="smoke test without --dir")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--rf", type=int, default=2)
    ap.add_argument("--alpha", type=float, default=1e-4)
    ap.add_argument("--step", type=float, default=0.2)
    ap.add_argument("--final", type=float, default=0.8)
    ap.add_argument("--rtol", type=float, default=0.01)
    ap.add_argument("--epochs-per-step", type=int, default=2)
    ap.add_argument("--max-bad-trials", type=int, default=3)
    ap.add_argument("--zero-dead-channels", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    x, y, xv, yv, kernels, biases = load(a)
    net = Net(kernels, biases, a.rf)
    total_groups = sum(k.size // a.rf for k in kernels)

    t_start = time.perf_counter()
    baseline, _ = evaluate(net, xv, yv)
    print(f"baseline {baseline:.6f} {net.dsp()}", flush=True)
    sched = ConstantScheduler(a.step, a.final)
    target, trial, bad = sched.first(), 0, 0
    current = net.state()
    while target is not None:
        t0 = time.perf_counter()
        trial += 1
        seed = a.seed + 7919 * trial
        net.apply_keep(select(net, target, total_groups))
        fine_tune(net, x, y, a, seed)
        acc, _ = evaluate(net, xv, yv)
        dsp = net.dsp()
        ok = math.isfinite(acc) and acc >= a.rtol * baseline
        if ok:
            current = net.state()
            target_next = sched.accepted(target)
        else:
            bad += 1
            net.load(current)
            target_next = None if bad >= a.max_bad_trials else sched.rejected(target)
        print(f"step {trial} {target:.6f} {dsp} {acc:.6f} {int(ok)} "
              f"{time.perf_counter() - t0:.3f}", flush=True)
        target = target_next
    print(f"wall_seconds {time.perf_counter() - t_start:.3f}")
    print(f"blas {loaded_blas()}")


if __name__ == "__main__":
    main()
