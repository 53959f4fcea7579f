"""Seconds per 350x430 image for the bottom-up baselines (one thread), and mask_ap cost.

Usage: .venv/bin/python benchmarks/evaluation_bottom_up.py [--quick]
The scene is a noisy, striped, speckled table with 8 coloured objects (a harder case
for a superpixel method than a flat table). Headline: seconds per image, tuned variant.
"""
import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from seg_by_interaction.config import load_config  # noqa: E402
from seg_by_interaction.evaluation import BottomUpSegmenter, mask_ap  # noqa: E402


def scene(rng, height, width):
    yy, xx = np.mgrid[:height, :width]
    img = np.array([120.0, 110.0, 100.0]) + rng.normal(0, 12, (height, width, 3))
    img += 15 * np.sin(xx / 7.0)[..., None] + 10 * np.cos(yy / 11.0)[..., None]
    gts = []
    for _ in range(8):
        cy, cx = rng.integers(40, height - 40), rng.integers(40, width - 40)
        ry, rx = rng.integers(12, 35, size=2)
        m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        img[m] = rng.integers(0, 255, 3) + rng.normal(0, 8, (m.sum(), 3))
        gts.append(m)
    return img.clip(0, 255).astype(np.uint8), np.stack(gts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cfg = load_config()
    height, width = cfg.arena.image_height, cfg.arena.image_width
    rng = np.random.default_rng(0)
    scenes = [scene(rng, height, width) for _ in range(3 if args.quick else 10)]
    out = {}
    for tuned in (False, True):
        seg = BottomUpSegmenter(cfg, tuned=tuned)
        seg.segment(scenes[0][0])  # warm-up
        preds, start = [], time.perf_counter()
        for image, _ in scenes:
            hyps = seg.segment(image)
            preds.append((np.stack([h.mask for h in hyps]), np.array([h.score for h in hyps])))
        out[tuned] = (time.perf_counter() - start) / len(scenes), preds
        name = "tuned" if tuned else "plain"
        print(f"proposals_per_image_{name}: {np.mean([len(p[1]) for p in preds]):.1f}")
        for protocol in ("voc07", "coco"):
            aps = mask_ap(preds, [g for _, g in scenes], [0.3, 0.5], protocol)
            print(f"ap_{protocol}_{name}: 0.3={aps[0]:.3f} 0.5={aps[1]:.3f}")
    start = time.perf_counter()
    mask_ap(out[True][1], [g for _, g in scenes], [0.3, 0.5], "coco")
    print(f"mask_ap_coco_seconds_per_image: {(time.perf_counter() - start) / len(scenes):.4f}")
    print(f"seconds_per_image_plain: {out[False][0]:.3f}")
    print(f"seconds_per_image_tuned: {out[True][0]:.3f}")


if __name__ == "__main__":
    main()
