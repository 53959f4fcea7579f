"""Robust set loss: the exact solver vs the paper's bias-shifting search, on the same
realistic batch (the paper preset's batch size and mask resolution; a network-like
prediction of an object and a difference-image-like noisy mask of it).

Prints `key: value` lines; the last is the speed-up of the exact solver.
Usage: .venv/bin/python benchmarks/rsl.py [--quick] [--preset paper]
"""
from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
import torch

from seg_by_interaction.config import load_config
from seg_by_interaction.perception.rsl import (bias_shift_targets, flip_cost, iou,
                                               robust_targets)
from seg_by_interaction.training.synthetic import corrupt_mask


def realistic_batch(batch: int, size: int, seed: int = 0):
    """Logits of a half-trained network on object windows, and noisy masks."""
    rng = np.random.default_rng(seed)
    logits, noisy = [], []
    for _ in range(batch):
        true = np.zeros((size, size), np.uint8)
        c = size // 2 + rng.integers(-size // 10, size // 10 + 1, size=2)
        axes = (int(rng.integers(size // 6, size // 3)), int(rng.integers(size // 6, size // 3)))
        cv2.ellipse(true, (int(c[0]), int(c[1])), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        true = true.astype(bool)
        # the prediction: the object blurred and partly wrong, with smooth noise
        field = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), size / 12)
        field /= field.std() + 1e-6
        soft = cv2.GaussianBlur(true.astype(np.float32), (0, 0), size / 20)
        logits.append(4.0 * (soft - 0.5) + 1.5 * field)
        noisy.append(corrupt_mask(true, rng, 0.4))
    return torch.from_numpy(np.stack(logits)), torch.from_numpy(np.stack(noisy))


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (< 30 s)")
    ap.add_argument("--preset", default="paper")
    args = ap.parse_args()
    torch.set_num_threads(1)  # tiny tensors; a second thread only adds sync cost on a busy machine
    cfg = load_config(args.preset)
    batch = int(cfg["training"]["batch_size"])
    size = int(cfg["model"]["mask_size"])
    b = float(cfg["rsl"]["iou_threshold"])
    step = float(cfg["rsl"]["paper_step"])
    logits, noisy = realistic_batch(batch, size)

    exact, t_exact = timed(lambda: robust_targets(logits, noisy, b), 5 if args.quick else 30)
    paper, t_paper = timed(lambda: bias_shift_targets(logits, noisy, b, step), 1 if args.quick else 3)
    cost_exact, cost_paper = flip_cost(logits, exact), flip_cost(logits, paper)
    print(f"preset: {args.preset}")
    print(f"batch: {batch}x{size}x{size}")
    print(f"iou_threshold: {b}")
    print(f"prediction_iou_mean: {float(iou(logits > 0, noisy).mean()):.3f}")
    print(f"exact_feasible: {int((iou(exact, noisy) >= b - 1e-9).sum())}/{batch}")
    print(f"paper_feasible: {int((iou(paper, noisy) >= b - 1e-9).sum())}/{batch}")
    print(f"exact_cost_mean: {float(cost_exact.mean()):.3f}")
    print(f"paper_cost_mean: {float(cost_paper.mean()):.3f}")
    print(f"exact_never_worse: {bool((cost_exact <= cost_paper + 1e-9).all())}")
    print(f"exact_s_per_batch: {t_exact:.5f}")
    print(f"paper_s_per_batch: {t_paper:.5f}")
    print(f"speedup_exact_vs_paper: {t_paper / t_exact:.1f}")


if __name__ == "__main__":
    main()
