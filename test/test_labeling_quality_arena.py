"""Label quality on real renders, scored against the renderer's ground truth.

The README's label IoU figures come from ``benchmarks/labels.py`` only; this runs the same
procedure at a small scale in the test suite: real arena interactions (a PCA grasp aimed at
a ground-truth object's mask, pick/place by the simulated gripper, the held shot and the
after shot rendered), every view labelled by ``label_interaction`` (pair-1 negatives kept,
so misses there count) and scored by ``labeling.quality`` against the ground truth the
learner never sees.

Measured when this test was written (seeds 0 and 1, 10 interactions each, 160 views):
median IoU 0.789, mean 0.710, 15.3 % of moved views without a label, 7.6 % of labels merged,
no false positives (``benchmarks/labels.py --n 40`` at the same code: 0.768 / 0.699, 22.8 %
missed); with the arena changes then under way (other scenes): 0.733 / 0.662, 19.8 % missed,
24.5 % merged. The same interactions with every label grown by 4 px score 0.519 / 0.489
(0.550 / 0.496 in the changed arena), shifted by 8 px 0.465 / 0.448, shrunk by 3 px 0.641 /
0.553 (0.687 / 0.559): the floors below leave a margin for other scenes, not for masks that
drift off the object, spill over it or shrink into it. How often labels merge touching
neighbours depends mostly on the scene (0 to 31 % per seed), so its bound is loose.
"""
from __future__ import annotations

import numpy as np
import pytest

from seg_by_interaction.config import load_config

pytestmark = pytest.mark.slow

SEEDS, INTERACTIONS = (0, 1), 10     # ~20 s on the 2-core machine


def _labelled_interactions(cfg, seed: int, n: int):
    """(views, before, held, after) of ``n`` attempted interactions, as benchmarks/labels.py."""
    from seg_by_interaction.grasping import grasp_to_arena, plan_grasp
    from seg_by_interaction.labeling.views import label_interaction
    from seg_by_interaction.robot.interface import OUTCOME_PLACED
    from seg_by_interaction.sim.arena import Arena
    from seg_by_interaction.sim.robot import SimRobot
    from seg_by_interaction.types import Pose2D

    rng = np.random.default_rng(seed)
    out, attempted, lifted = [], 0, 0
    with Arena(cfg, seed=seed, split="train") as arena:
        robot = SimRobot(arena)
        x0, x1, y0, y1 = arena.workspace
        margin = 0.1 * min(x1 - x0, y1 - y0)
        arena.reset_scene()
        while attempted < n:
            before = arena.render(include_ground_truth=True)
            cam = int(rng.integers(len(before.images)))
            gt = before.gt_instances[cam]
            ids, counts = np.unique(gt[gt > 0], return_counts=True)
            ids = ids[counts >= int(cfg["grasping"]["min_pixels"])]
            if len(ids) == 0:
                arena.reset_scene()
                continue
            target = int(rng.choice(ids))
            x, y, theta, _ = grasp_to_arena(plan_grasp(gt == target, cfg["grasping"]["min_pixels"]),
                                            before.cameras[cam])
            pick = Pose2D(float(np.clip(x, x0, x1)), float(np.clip(y, y0, y1)), theta)
            place = Pose2D(float(rng.uniform(x0 + margin, x1 - margin)),
                           float(rng.uniform(y0 + margin, y1 - margin)), float(rng.uniform(0, np.pi)))
            result = robot.pick_place(pick, place, on_held=lambda: arena.render(include_ground_truth=True))
            attempted += 1
            if result.outcome != OUTCOME_PLACED or result.held_result is None:
                continue
            lifted += int(result.object_in_gripper)
            held = result.held_result
            after = arena.render(include_ground_truth=True)
            views = label_interaction(before, held, after, (pick.x, pick.y), cfg,
                                      place_xy=(place.x, place.y))
            out.append((views, before, held, after))
    return out, lifted


def _scores(cfg, interactions):
    from seg_by_interaction.labeling.quality import assess_view
    from seg_by_interaction.labeling.views import PAIR_PICK
    scores = []
    for views, before, held, after in interactions:
        for v in views:
            gt = (before if v.pair == PAIR_PICK else after).gt_instances[v.camera]
            scores.append(assess_view(v.mask, gt, held.gt_instances[v.camera], v.pick_px, cfg))
    return scores


def test_labels_of_real_interactions_cover_the_moved_object():
    from seg_by_interaction.labeling.quality import summarize
    STANDARD = load_config().evaluation.standard_arena       # the arena the floors were set on
    cfg = load_config(overrides={"labeling.pair1_negatives": True,
                                 "labeling.cross_view.enabled": False, **STANDARD})
    interactions, lifted = [], 0
    for seed in SEEDS:
        got, n_lifted = _labelled_interactions(cfg, seed=seed, n=INTERACTIONS)
        interactions += got
        lifted += n_lifted
    s = summarize(_scores(cfg, interactions))
    report = f"{s} lifted={lifted}"
    # enough to judge: the grasps move objects and views see it
    assert lifted >= 4, report
    assert s["truth_positive"] >= 80 and s["labels"] >= 60, report
    # a label covers the object that moved (median 0.73-0.79 so far; a mask grown or shifted
    # by a few pixels falls below the median floor, one shrunk by 3 px below the mean floor)
    assert s["median_iou"] > 0.68, report
    assert s["mean_iou"] > 0.6, report
    # most moved views get a label (15-20 % missed so far)
    assert s["false_negative_rate"] < 0.35, report
    assert s["merged_rate"] < 0.4, report
    # nothing moved, yet a label: lighting or noise taken for motion (0-2 % so far)
    assert s["false_positive_rate"] < 0.15, report
