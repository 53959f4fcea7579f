"""Passive bootstrap: masks from watching objects move, without ground truth."""
from __future__ import annotations

import numpy as np
import pytest

from seg_by_interaction.config import load_config
from seg_by_interaction.labeling.passive import median_background, motion_masks


def _frame(positions, size=40, shape=(200, 260)):
    rng = np.random.default_rng(1)
    img = np.full(shape + (3,), (90, 110, 80), np.uint8)
    img = np.clip(img + rng.integers(-4, 5, img.shape), 0, 255).astype(np.uint8)
    for k, (x, y) in enumerate(positions):
        img[y:y + size, x:x + size] = ((200, 40, 40), (40, 40, 200))[k % 2]
    return img


def test_median_of_moving_objects_is_the_table_and_movers_become_masks():
    cfg = load_config(overrides={"passive.min_pixels": 300})
    # object A moves every frame, object B never moves (it stays in the median: missed)
    frames = [_frame([(20 + 40 * t, 30), (180, 140)]) for t in range(5)]
    background = median_background(frames)
    assert np.abs(background[30:70, 20:60].astype(int) - (90, 110, 80)).max() < 10
    masks = motion_masks(frames[3], background, frames[2], cfg)
    assert len(masks) == 1
    ys, xs = np.nonzero(masks[0])
    assert abs(xs.mean() - (140 + 20)) < 3 and abs(ys.mean() - 50) < 3
    assert 0.8 * 1600 < masks[0].sum() < 1.3 * 1600
    with pytest.raises(ValueError):
        median_background(frames[:2])


def test_collect_passive_fills_the_store_from_arena_pushes(tmp_path):
    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.labeling.passive import collect_passive
    from seg_by_interaction.sim.arena import Arena
    from seg_by_interaction.sim.robot import SimRobot
    cfg = load_config(overrides={"passive.blocks": 1, "passive.pushes_per_block": 6})
    store = DatasetStore(tmp_path / "store", cfg)
    with Arena(cfg, seed=5) as arena:
        n = collect_passive(store, arena, SimRobot(arena), cfg, seed=0, progress=False)
        ids = arena.object_ids()
        last = arena.render(include_ground_truth=True)
    assert n == store.count(sources=["passive"]) > 0
    # masks are object-sized blobs; most of them cover one real object (checked with GT
    # here only; the bootstrap itself never reads it)
    sizes = [int(ex.mask.sum()) for ex in store.iter(sources=["passive"])]
    assert min(sizes) > cfg["passive"]["min_pixels"]
    assert len(ids) >= 4 and last.gt_instances is not None
