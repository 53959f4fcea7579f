"""Label quality of the difference-image labeller in the simulated arena.

Each interaction: render I_t (with ground truth), aim plan_grasp at a random
visible object's GT mask, convert it to an arena pick with grasp_to_arena, place
at a random spot, render I'_t+1 (held, arm out of view) and I_t+1. Every view of
both pairs is labelled (pair-1 negatives kept, so misses there count) and scored
against the GT the learner never sees. The same views are also filtered by the cross-view
consistency check (labeling.cross_view, whatever its default) and scored again, so the
``cross_view_*`` lines compare the two on identical interactions.

    .venv/bin/python benchmarks/labels.py [--quick] [--n N] [--seed S] [--set KEY=VALUE ...]
      (e.g. --set arena.objects.sizes.mode=real --set arena.cameras.vary.enabled=true)
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a few interactions (< 30 s)")
    ap.add_argument("--n", type=int, default=40, help="interactions")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--arena", choices=("default", "procedural"), default="default",
                    help="procedural: the generated patterns and primitives (the arena before photographs)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a configuration override (repeatable), e.g. arena.objects.sizes.mode=real")
    args = ap.parse_args()
    n = 4 if args.quick else args.n

    try:
        from seg_by_interaction.sim.arena import Arena
        from seg_by_interaction.sim.robot import SimRobot
    except ImportError as exc:
        print(f"error: the simulated arena is not importable ({exc}); "
              "benchmarks/labels.py needs seg_by_interaction.sim.arena.Arena and sim.robot.SimRobot",
              file=sys.stderr)
        return 2
    from seg_by_interaction.config import load_config, preset_overrides
    from seg_by_interaction.grasping import grasp_to_arena, plan_grasp
    from seg_by_interaction.labeling.consistency import reject_inconsistent
    from seg_by_interaction.labeling.quality import assess_view, summarize
    from seg_by_interaction.labeling.views import PAIR_PICK, label_interaction
    from seg_by_interaction.robot.interface import OUTCOME_PLACED
    from seg_by_interaction.types import Pose2D

    from seg_by_interaction.config import parse_override
    arena = {"default": {}, "procedural": preset_overrides("procedural"),
             "standard": load_config().evaluation.standard_arena}[args.arena]
    cfg = load_config(overrides={"labeling.pair1_negatives": True, "labeling.cross_view.enabled": False,
                                 **arena, **dict(parse_override(o) for o in args.set)})
    rng = np.random.default_rng(args.seed)
    arena = Arena(cfg, seed=args.seed, split="train")
    robot = SimRobot(arena)
    x0, x1, y0, y1 = arena.workspace
    margin = 0.1 * min(x1 - x0, y1 - y0)
    checked, rejected = [], []
    results, label_s, n_views, lifted, attempted = [], 0.0, 0, 0, 0
    by_size = {False: [0, 0], True: [0, 0]}   # jaws-sized / larger targets: [attempts, lifted]
    quality_by_size = {False: [], True: []}   # their views' label quality
    t_start = time.perf_counter()
    for i in range(n):
        if i % int(cfg.arena.reset_every) == 0 or not arena.object_ids():
            arena.set_background(None)        # (a new camera rig too, with arena.cameras.vary)
            arena.reset_scene()
        before = arena.render(include_ground_truth=True)
        cam = int(rng.integers(len(before.images)))
        gt = before.gt_instances[cam]
        ids, counts = np.unique(gt[gt > 0], return_counts=True)
        ids = ids[counts >= int(cfg.grasping.min_pixels)]
        if len(ids) == 0:
            arena.reset_scene()
            continue
        target = int(rng.choice(ids))
        x, y, theta, _ = grasp_to_arena(plan_grasp(gt == target, cfg.grasping.min_pixels), before.cameras[cam])
        place = Pose2D(float(rng.uniform(x0 + margin, x1 - margin)),
                       float(rng.uniform(y0 + margin, y1 - margin)), float(rng.uniform(0, np.pi)))
        pick = Pose2D(float(np.clip(x, x0, x1)), float(np.clip(y, y0, y1)), theta)
        out = robot.pick_place(pick, place, on_held=lambda: arena.render(include_ground_truth=True))
        attempted += 1
        if out.outcome != OUTCOME_PLACED or out.held_result is None:
            continue
        lifted += int(out.object_in_gripper)
        big = float(max(arena.object_extents(target)[:2])) > float(cfg.robot.sim.jaw_open)
        by_size[big][0] += 1
        by_size[big][1] += int(out.extra.get("held_object_id") == target)
        held = out.held_result
        after = arena.render(include_ground_truth=True)
        t0 = time.perf_counter()
        views = label_interaction(before, held, after, (pick.x, pick.y), cfg, place_xy=(place.x, place.y))
        label_s += time.perf_counter() - t0
        n_views += len(views)
        kept = {id(v) for v in reject_inconsistent(views, before.cameras, cfg.labeling)}
        for v in views:
            gt_l = (before if v.pair == PAIR_PICK else after).gt_instances[v.camera]
            q = assess_view(v.mask, gt_l, held.gt_instances[v.camera], v.pick_px, cfg)
            results.append(q)
            quality_by_size[big].append(q)
            (checked if id(v) in kept else rejected).append(q)
    arena.close()

    s = summarize(results)
    print(f"interactions: {attempted}")
    print(f"lift_rate: {lifted / max(1, attempted):.3f}")
    for big, name in ((False, "fits_jaws"), (True, "wider_than_jaws")):
        n_try, n_lift = by_size[big]
        print(f"target_lift_rate_{name}: {n_lift / max(1, n_try):.3f} ({n_try} targets)")
        q = summarize(quality_by_size[big]) if quality_by_size[big] else None
        if q is not None:
            print(f"mean_iou_{name}: {q['mean_iou']:.3f}")
            print(f"false_negative_rate_{name}: {q['false_negative_rate']:.3f}")
    print(f"views: {s['views']}")
    print(f"views_object_moved: {s['truth_positive']}")
    print(f"labels_positive: {s['labels']}")
    print(f"median_iou: {s['median_iou']:.3f}")
    print(f"merged_rate: {s['merged_rate']:.3f}")
    print(f"false_negative_rate: {s['false_negative_rate']:.3f}")
    print(f"false_positive_rate: {s['false_positive_rate']:.3f}")
    print(f"label_ms_per_view: {1000 * label_s / max(1, n_views):.1f}")
    c = summarize(checked)
    print(f"cross_view_rejected: {len(rejected)}")
    print(f"cross_view_rejected_merged_fraction: "
          f"{np.mean([q.merged for q in rejected]) if rejected else float('nan'):.3f}")
    print(f"cross_view_labels_positive: {c['labels']}")
    print(f"cross_view_merged_rate: {c['merged_rate']:.3f}")
    print(f"cross_view_mean_iou: {c['mean_iou']:.3f}")
    print(f"wall_s: {time.perf_counter() - t_start:.1f}")
    print(f"mean_iou: {s['mean_iou']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
