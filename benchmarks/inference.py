"""Whole-frame inference latency per 350x430 frame, for each preset, on this machine.

The model is briefly trained on blob scenes first so that the mask head, pasting
and NMS do their real amount of work (an untrained model yields almost no masks).
Prints `key: value` lines; the last is the default preset's p50 latency in seconds.
Usage: .venv/bin/python benchmarks/inference.py [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from seg_by_interaction.config import load_config
from seg_by_interaction.perception.inference import Segmenter
from seg_by_interaction.perception.windows import object_size_range
from seg_by_interaction.training.dataset import InMemorySource
from seg_by_interaction.training.synthetic import blob_examples, blob_scene
from seg_by_interaction.training.trainer import Trainer


def latency(preset: str, frames: int, train_steps: int, threads: int):
    cfg = load_config(preset, {"device": "cpu", "torch_threads": threads})
    h, w = cfg["arena"]["image_height"], cfg["arena"]["image_width"]
    rng = np.random.default_rng(0)
    trainer = Trainer(cfg, source=InMemorySource(blob_examples(rng, 4, height=h, width=w)))
    if train_steps:
        trainer.train_steps(train_steps, progress=False)
    seg = Segmenter(trainer.model, cfg)
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
    results = {}
    for preset in ("paper", "default"):
        frames = 3 if args.quick else 10
        steps = {"paper": 0 if args.quick else 10, "default": 20 if args.quick else 60}[preset]
        cfg, p50, p90, n = latency(preset, frames, steps, args.threads)
        lo, hi = object_size_range(cfg)
        print(f"{preset}_window: {cfg['model']['window']}")
        print(f"{preset}_trunk_width: {cfg['model']['trunk_width']}")
        print(f"{preset}_object_px_range: {lo:.0f}-{hi:.0f}")
        print(f"{preset}_hypotheses_per_frame: {n:.1f}")
        print(f"{preset}_p90_s: {p90:.3f}")
        results[preset] = p50
        print(f"{preset}_p50_s: {p50:.3f}")
    print(f"paper_over_default_p50: {results['paper'] / results['default']:.1f}")
    print(f"default_p50_s_per_frame: {results['default']:.3f}")


if __name__ == "__main__":
    main()
