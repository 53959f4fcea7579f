"""Robust set loss: the exact solver vs the paper's bias-shifting search, on the same
realistic batch (the preset's batch size; a network-like prediction of an object and a
difference-image-like noisy mask of it), at two mask sizes measured in one run: the
preset's ``model.mask_size`` and ``rsl.paper_mask_size`` (112).

Times are per batch, the best of N runs (timeit's convention: the least disturbed run on
a shared machine) and, beside it, the median. Prints `key: value` lines (per size
`..._<side>`); the last is the speed-up of the exact solver (best-of-N times) at
``rsl.paper_mask_size``.
Usage: .venv/bin/python benchmarks/rsl.py [--quick] [--preset paper]
"""
from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
import torch

import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))   # test/support

from seg_by_interaction.config import load_config
from seg_by_interaction.perception.rsl import flip_cost, iou, robust_targets
from support.rsl_reference import bias_shift_targets
from support.synthetic import corrupt_mask


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
    """(result, best seconds, median seconds) of ``repeats`` runs after one warm-up."""
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times), statistics.median(times)


def measure(batch: int, size: int, b: float, step: float, quick: bool) -> dict:
    """Exact vs paper targets on one realistic batch: feasibility, cost, median seconds."""
    logits, noisy = realistic_batch(batch, size)
    exact, t_exact, med_exact = timed(lambda: robust_targets(logits, noisy, b), 10 if quick else 40)
    paper, t_paper, med_paper = timed(lambda: bias_shift_targets(logits, noisy, b, step),
                                      2 if quick else 5)
    cost_exact, cost_paper = flip_cost(logits, exact), flip_cost(logits, paper)
    return {
        "prediction_iou_mean": f"{float(iou(logits > 0, noisy).mean()):.3f}",
        "exact_feasible": f"{int((iou(exact, noisy) >= b - 1e-9).sum())}/{batch}",
        "paper_feasible": f"{int((iou(paper, noisy) >= b - 1e-9).sum())}/{batch}",
        "exact_cost_mean": f"{float(cost_exact.mean()):.3f}",
        "paper_cost_mean": f"{float(cost_paper.mean()):.3f}",
        "exact_never_worse": bool((cost_exact <= cost_paper + 1e-9).all()),
        "exact_s_per_batch": f"{t_exact:.5f}",
        "paper_s_per_batch": f"{t_paper:.5f}",
        "exact_median_s_per_batch": f"{med_exact:.5f}",
        "paper_median_s_per_batch": f"{med_paper:.5f}",
        "speedup_median_exact_vs_paper": f"{med_paper / med_exact:.1f}",
        "speedup_exact_vs_paper": f"{t_paper / t_exact:.1f}",
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (< 30 s)")
    ap.add_argument("--preset", default="paper")
    args = ap.parse_args()
    torch.set_num_threads(1)  # tiny tensors; a second thread only adds sync cost on a busy machine
    cfg = load_config(args.preset)
    batch = int(cfg.training.batch_size)
    b = float(cfg.rsl.iou_threshold)
    step = float(cfg.rsl.paper_step)
    sizes = list(dict.fromkeys([int(cfg.model.mask_size), int(cfg.rsl.paper_mask_size)]))
    print(f"preset: {args.preset}")
    print(f"batch_size: {batch}")
    print(f"mask_sizes: {', '.join(f'{s}x{s}' for s in sizes)}")
    print(f"iou_threshold: {b}")
    results = {size: measure(batch, size, b, step, args.quick) for size in sizes}
    for size, res in results.items():
        for key, value in res.items():
            print(f"{key}_{size}: {value}")
    print(f"headline_mask_size: {sizes[-1]}x{sizes[-1]}")
    print(f"speedup_exact_vs_paper: {results[sizes[-1]]['speedup_exact_vs_paper']}")


if __name__ == "__main__":
    main()
