"""Pieces both python3-torch benchmark peers share: hwprune's ap_fixed<16,6> training
quantizer (AP_TRN, saturating, straight-through gradient), its inference form (AP_WRAP), the
range penalty on results, and the BLAS library the process has loaded."""
import os

import torch

F_BITS, WIDTH = 10, 16  # ap_fixed<16,6>
LO, HI = -(2 ** (WIDTH - 1)), 2 ** (WIDTH - 1) - 1
SCALE = 2.0 ** F_BITS


def quantize(x):
    """Training: AP_TRN, saturating, straight-through gradient."""
    with torch.no_grad():
        q = torch.clamp(torch.floor(x * SCALE), LO, HI) / SCALE
    return q + (x - x.detach()) if x.requires_grad else q


def quantize_wrap(x):
    """Inference results: AP_TRN, AP_WRAP (what the hardware does)."""
    r = torch.floor(x * SCALE)
    r = torch.remainder(r - LO, 2.0 ** WIDTH) + LO
    return r / SCALE


def range_penalty(x):
    """Squared excess beyond [min, max], summed per sample, averaged over the batch."""
    excess = torch.relu(x - HI / SCALE) + torch.relu(LO / SCALE - x)
    return excess.pow(2).sum() / x.shape[0]


def loaded_blas():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if "/" in line else ""
            if "blas" in os.path.basename(path):
                libs.add(os.path.realpath(path))
    return ", ".join(sorted(libs)) or "(none)"


def forward_train(x, ws, bs, ms):
    """The jet-mlp's training forward pass: quantized input, then per layer x @ (W * mask) + b
    with quantized weights, biases and results, ReLU on the hidden layers; returns the
    logits and the range penalty of the results."""
    h = quantize(x)
    penalty = 0.0
    for i in range(len(ws)):
        h = torch.addmm(quantize(bs[i]), h, quantize(ws[i] * ms[i]))
        penalty = penalty + range_penalty(h)
        h = quantize(h)
        if i < len(ws) - 1:
            h = torch.relu(h)
            penalty = penalty + range_penalty(h)
            h = quantize(h)
    return h, penalty
