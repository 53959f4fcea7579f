"""Whole-frame inference latency per 350x430 frame, for each preset, on this machine, the
object sizes its pyramid covers, and what a 1280x720 frame costs; the pyramid before
wave 3 (32-91 px, 0.25 octave apart) and the model with its BatchNorms unfolded
(inference.fold_batchnorm off) and in float32 (inference.precision; the default computes in
bfloat16 where the CPU has it natively) in the same run as ratios.

The model is briefly trained on blob scenes first so that the mask head, pasting
and NMS do their real amount of work (an untrained model yields almost no masks).
Prints `key: value` lines; the last is the default preset's p50 latency in seconds.
Usage: .venv/bin/python benchmarks/inference.py [--quick]
"""
from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch

import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))   # test/support

from seg_by_interaction.config import load_config
from seg_by_interaction.perception.fold import fold_batchnorm
from seg_by_interaction.perception.inference import Segmenter
from seg_by_interaction.perception.windows import object_size_range, pyramid_scales
from seg_by_interaction.runtime import compute_dtype
from seg_by_interaction.training.dataset import InMemorySource
from support.synthetic import blob_examples, blob_scene
from seg_by_interaction.training.trainer import Trainer


OLD_PYRAMID = {"inference.min_object_px": 32.29, "inference.max_object_fraction": 0.26094,
               "inference.scale_step_log2": 0.25}


def latency(preset: str, frames: int, train_steps: int, threads: int, hw=None, overrides=None):
    cfg = load_config(preset, {"device": "cpu", "torch_threads": threads, **(overrides or {})})
    h, w = hw or (cfg.arena.image_height, cfg.arena.image_width)
    rng = np.random.default_rng(0)
    trainer = Trainer(cfg, source=InMemorySource(blob_examples(rng, 4, height=h, width=w)))
    if train_steps:
        trainer.train_steps(train_steps, progress=False)
    model = trainer.model.eval()
    if cfg.inference.fold_batchnorm:   # as load_segmenter does for a checkpoint
        model = fold_batchnorm(copy.deepcopy(model))
    seg = Segmenter(model, cfg)
    images = [blob_scene(rng, h, w, num_objects=6)[0] for _ in range(frames)]
    seg.segment(images[0])  # warm-up
    times, counts = [], []
    for img in images:
        t0 = time.perf_counter()
        counts.append(len(seg.segment(img)))
        times.append(time.perf_counter() - t0)
    return cfg, np.percentile(times, 50), np.percentile(times, 90), float(np.mean(counts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer frames, no paper preset training")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (1 is fastest on the shared 2-core machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads: {args.threads}")
    frames = 2 if args.quick else 10
    results = {}
    for preset in ("paper", "default"):
        steps = {"paper": 0 if args.quick else 10, "default": 10 if args.quick else 60}[preset]
        cfg, p50, p90, n = latency(preset, frames, steps, args.threads)
        hw = (cfg.arena.image_height, cfg.arena.image_width)
        lo, hi = object_size_range(cfg, hw)
        levels = len(pyramid_scales(cfg.inference, cfg.model, hw))
        print(f"{preset}_window: {cfg.model.window}")
        print(f"{preset}_trunk_width: {cfg.model.trunk_width}")
        print(f"{preset}_object_px_range_{hw[1]}x{hw[0]}: {lo:.0f}-{hi:.0f} ({levels} levels)")
        print(f"{preset}_hypotheses_per_frame: {n:.1f}")
        print(f"{preset}_p90_s: {p90:.3f}")
        results[preset] = p50
        print(f"{preset}_p50_s: {p50:.3f}")
    print(f"paper_over_default_p50: {results['paper'] / results['default']:.1f}")
    if not args.quick:   # the pyramid before wave 3, for the record (--quick skips it)
        cfg, old_p50, _, _ = latency("default", frames, 60, args.threads, overrides=OLD_PYRAMID)
        hw = (cfg.arena.image_height, cfg.arena.image_width)
        lo, hi = object_size_range(cfg, hw)
        print(f"old_pyramid_object_px_range: {lo:.0f}-{hi:.0f}")
        print(f"old_pyramid_p50_s: {old_p50:.3f}")
        print(f"default_over_old_pyramid_p50: {results['default'] / old_p50:.2f}")
    cfg, unfolded_p50, _, _ = latency("default", frames, 10 if args.quick else 60, args.threads,
                                      overrides={"inference.fold_batchnorm": False})
    print(f"batchnorm_unfolded_p50_s: {unfolded_p50:.3f}")
    print(f"folded_over_unfolded_p50: {results['default'] / unfolded_p50:.2f}")
    cfg, f32_p50, _, _ = latency("default", frames, 10 if args.quick else 60, args.threads,
                                 overrides={"inference.precision": "float32"})
    print(f"default_precision: {compute_dtype(load_config().inference.precision, 'cpu')}")
    print(f"float32_p50_s: {f32_p50:.3f}")
    print(f"default_over_float32_p50: {results['default'] / f32_p50:.2f}")
    big = (720, 1280)
    cfg, big_p50, _, _ = latency("default", 1 if args.quick else 4, 10 if args.quick else 60,
                                 args.threads, hw=big)
    lo, hi = object_size_range(cfg, big)
    print(f"default_object_px_range_1280x720: {lo:.0f}-{hi:.0f} "
          f"({len(pyramid_scales(cfg.inference, cfg.model, big))} levels)")
    print(f"default_p50_s_1280x720: {big_p50:.3f}")
    print(f"default_p50_s_per_frame: {results['default']:.3f}")


if __name__ == "__main__":
    main()
