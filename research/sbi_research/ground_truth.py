"""Ground-truth examples from the arena's renderer, for the study's oracle rows only.

The paper's "DeepMask" upper bound and "+human" rows train on human masks; here the
renderer's instance masks stand in for them. The self-supervised path never calls this.
"""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from seg_by_interaction.types import Example


def ground_truth_examples(arena, cfg: dict, scenes: int, seed: int = 0, progress: bool = True):
    """Yield (scene_id, camera, index, Example): every visible object of each camera as a
    positive, plus background points as negatives (``study.gt_negatives_per_view``)."""
    sc = cfg.study
    rng = np.random.default_rng((seed, 41))
    min_area = int(cfg.arena.eval_min_area)
    for s in tqdm(range(scenes), desc="ground-truth scenes", disable=not progress):
        if s % int(sc.gt_scenes_per_background) == 0:
            arena.set_background(None)
        arena.reset_scene()
        frames = arena.render(include_ground_truth=True)
        for cam, (image, gt) in enumerate(zip(frames.images, frames.gt_instances)):
            k = 0
            for obj in np.unique(gt[gt > 0]):
                mask = gt == obj
                if mask.sum() < min_area:
                    continue
                ys, xs = np.nonzero(mask)
                yield (f"gt{seed}_{s:05d}", cam, k,
                       Example(image, (float(xs.mean()), float(ys.mean())), mask, "ground_truth"))
                k += 1
            background = np.argwhere(gt == 0)
            for _ in range(int(sc.gt_negatives_per_view)):
                y, x = background[int(rng.integers(len(background)))]
                yield (f"gt{seed}_{s:05d}", cam, k,
                       Example(image, (float(x), float(y)), None, "ground_truth"))
                k += 1


COMPLETE_KEY = "ground_truth_complete"   # store_info: set once every scene is stored


def ground_truth_complete(store) -> bool:
    """Whether a collection of ground-truth scenes ran to its end (not cut off by a kill)."""
    return store.info(COMPLETE_KEY) is not None


def collect_ground_truth(store, arena, cfg: dict, scenes: int, seed: int = 0,
                         progress: bool = True) -> int:
    """Store every scene's ground truth, then mark the collection complete. Deterministic
    per seed and keyed per (scene, camera, index): a re-run after a kill fills in the rest."""
    n = 0
    for scene, cam, k, ex in ground_truth_examples(arena, cfg, scenes, seed, progress):
        store.add_example(ex.image, ex.pick_px, ex.mask, robot_id="oracle", interaction_id=scene,
                          camera=cam, pair=k, source="ground_truth")
        n += 1
    store.set_info(COMPLETE_KEY, str(n))
    return n
