"""Training throughput (window examples per second, both heads alternating) for
each preset on this machine, in RSL mode on noisy blob-scene examples, and the default
preset in float32 and in bfloat16 (``training.precision``) in the same run, and a step
drawing from a DatasetStore of 430x350 PNG frames with and without the online trainer's
decoded-example cache (``training.example_cache_mb``).

Prints `key: value` lines; the last is the default preset's examples/s.
Usage: .venv/bin/python benchmarks/training.py [--quick]
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))   # test/support

from seg_by_interaction.config import load_config
from seg_by_interaction.training.dataset import InMemorySource
from support.synthetic import blob_examples
from seg_by_interaction.training.trainer import Trainer


def throughput(preset: str, steps: int, source, threads: int, overrides=None):
    cfg = load_config(preset, {"device": "cpu", "torch_threads": threads, **(overrides or {})})
    trainer = Trainer(cfg, source=source, mode="rsl")
    trainer.train_steps(2, progress=False)  # warm-up
    return cfg, trainer.train_steps(steps, progress=False)


def store_step_seconds(steps: int, threads: int, cache_mb: int, images: int) -> float:
    """Seconds per default-preset step drawing from a store on disk (as the trainer node
    does), after a warm-up that lets the cache fill."""
    from seg_by_interaction.data import DatasetStore
    from seg_by_interaction.data.example_cache import ExampleCache
    cfg = load_config("default", {"device": "cpu", "torch_threads": threads})
    with tempfile.TemporaryDirectory() as tmp:
        store = DatasetStore(tmp, cfg)
        for k, ex in enumerate(blob_examples(np.random.default_rng(1), images, noise=0.3)):
            store.add_example(ex.image, ex.pick_px, ex.mask, robot_id="bench",
                              interaction_id=f"i{k:04d}", camera=0, pair=1, split="train")
        cache = ExampleCache(cache_mb * 2 ** 20) if cache_mb else None
        trainer = Trainer(cfg, source=store.source(cache=cache), mode="rsl")
        trainer.train_steps(images, progress=False)     # ~4 examples an image, 16 draws a step
        t0 = time.perf_counter()
        trainer.train_steps(steps, progress=False)
        seconds = (time.perf_counter() - t0) / steps
        store.close()
    return seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (1 is fastest on the shared 2-core machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    source = InMemorySource(blob_examples(np.random.default_rng(0), 6, noise=0.3))
    print(f"threads: {args.threads}")
    rates = {}
    for preset, steps in (("paper", 2 if args.quick else 6), ("default", 10 if args.quick else 60)):
        cfg, m = throughput(preset, steps, source, args.threads)
        print(f"{preset}_batch_size: {cfg.training.batch_size}")
        print(f"{preset}_window: {cfg.model.window}")
        print(f"{preset}_s_per_step: {m['examples'] / m['examples_per_s'] / steps:.3f}")
        print(f"{preset}_rsl_flip_rate: {m['rsl_flip_rate']:.3f}")
        rates[preset] = m["examples_per_s"]
        print(f"{preset}_examples_per_s: {m['examples_per_s']:.1f}")
    print(f"default_over_paper: {rates['default'] / rates['paper']:.1f}")
    # mixed precision (bfloat16 convolutions, float32 weights) against float32; the default
    # preset's run above is the float32 one while the default is float32
    if load_config().training.precision == "float32":
        rates["float32"] = rates["default"]
    else:
        _, m = throughput("default", 10 if args.quick else 60, source, args.threads,
                          {"training.precision": "float32"})
        rates["float32"] = m["examples_per_s"]
    print(f"float32_examples_per_s: {rates['float32']:.1f}")
    cfg, m = throughput("default", 10 if args.quick else 60, source, args.threads,
                        {"training.precision": "bfloat16"})
    print(f"default_precision: {load_config().training.precision}")
    print(f"bfloat16_examples_per_s: {m['examples_per_s']:.1f}")
    print(f"bfloat16_over_float32: {m['examples_per_s'] / rates['float32']:.2f}")
    steps, images = (5, 6) if args.quick else (60, 24)
    uncached = store_step_seconds(steps, args.threads, 0, images)
    cached = store_step_seconds(steps, args.threads, int(load_config().training.example_cache_mb),
                                images)
    print(f"store_s_per_step_decoding: {uncached:.3f}")
    print(f"store_s_per_step_cached: {cached:.3f}")
    print(f"cache_speedup: {uncached / cached:.2f}")
    print(f"default_examples_per_s: {rates['default']:.1f}")


if __name__ == "__main__":
    main()
