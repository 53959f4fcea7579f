"""What the robust set loss does to each kind of label error (docs/learning.md).

Interactions in the training arena are labelled by the difference labeller; each
positive label is sorted by what is wrong with it against the renderer's mask of the
moved object (which the learner never sees): good (IoU >= 0.6), merged (spans a second
object), partial (mostly inside the object, covering little of it), spill (covers the
object and much around it: shadow, table). For each, a trained model's window is cut
as the trainer cuts it, the RSL latent target computed at the configured IoU bound,
and we report the fraction of pixels flipped and the window IoU with the true object
before (label) and after (target): RSL helps where the second is higher.

    .venv/bin/python benchmarks/rsl_error_modes.py [--quick] [--checkpoint P] [--b 0.75]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def classify(label: np.ndarray, gt_obj: np.ndarray, merged: bool) -> str:
    inter = float((label & gt_obj).sum())
    iou = inter / max(float((label | gt_obj).sum()), 1.0)
    if merged:
        return "merged"
    if iou >= 0.6:
        return "good"
    precision = inter / max(float(label.sum()), 1.0)
    recall = inter / max(float(gt_obj.sum()), 1.0)
    if precision >= 0.8:
        return "partial"
    if recall >= 0.8:
        return "spill"
    return "other"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=40, help="interactions")
    ap.add_argument("--checkpoint", default="", help="model (default: newest in results/loop/checkpoints)")
    ap.add_argument("--b", type=float, default=None, help="RSL IoU bound (default: config rsl.iou_threshold)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import torch

    from seg_by_interaction.config import load_config
    from seg_by_interaction.grasping import grasp_to_arena, plan_grasp
    from seg_by_interaction.labeling.quality import assess_view
    from seg_by_interaction.labeling.views import PAIR_PICK, label_interaction
    from seg_by_interaction.perception.inference import build_model
    from seg_by_interaction.perception.rsl import robust_targets
    from seg_by_interaction.robot.interface import OUTCOME_PLACED
    from seg_by_interaction.sim.arena import Arena
    from seg_by_interaction.sim.robot import SimRobot
    from seg_by_interaction.perception.checkpoint import load_checkpoint
    from seg_by_interaction.training.online import latest_checkpoint
    from seg_by_interaction.training.sampling import mask_box_centre_and_size
    from seg_by_interaction.perception.windows import cut_window, fill_colour
    from seg_by_interaction.types import Pose2D

    cfg = load_config()
    b = float(args.b if args.b is not None else cfg.rsl.iou_threshold)
    ckpt = args.checkpoint
    if not ckpt:
        found = latest_checkpoint(Path("results/loop/checkpoints"))
        if found is None:
            print("error: no checkpoint given and none in results/loop/checkpoints "
                  "(run scripts/run_loop.sh first or pass --checkpoint)", file=sys.stderr)
            return 2
        ckpt = found[1]
    model = build_model(cfg)
    load_checkpoint(ckpt, model, model_cfg=cfg.model)
    model.eval()
    mc = cfg.model
    window, msize = int(mc.window), int(mc.mask_size)
    fill = fill_colour(mc)
    n = 6 if args.quick else args.n
    rng = np.random.default_rng(args.seed)
    arena = Arena(cfg, seed=args.seed, split="train")
    robot = SimRobot(arena)
    x0, x1, y0, y1 = arena.workspace
    margin = 0.1 * min(x1 - x0, y1 - y0)
    rows = []
    for i in range(n):
        if i % int(cfg.arena.reset_every) == 0 or not arena.object_ids():
            arena.set_background()
            arena.reset_scene()
        before = arena.render(include_ground_truth=True)
        cam = int(rng.integers(len(before.images)))
        gt = before.gt_instances[cam]
        ids, counts = np.unique(gt[gt > 0], return_counts=True)
        ids = ids[counts >= int(cfg.grasping.min_pixels)]
        if len(ids) == 0:
            arena.reset_scene()
            continue
        x, y, theta, _ = grasp_to_arena(plan_grasp(gt == int(rng.choice(ids)),
                                                   cfg.grasping.min_pixels), before.cameras[cam])
        place = Pose2D(float(rng.uniform(x0 + margin, x1 - margin)), float(rng.uniform(y0 + margin, y1 - margin)),
                       float(rng.uniform(0, np.pi)))
        pick = Pose2D(float(np.clip(x, x0, x1)), float(np.clip(y, y0, y1)), theta)
        out = robot.pick_place(pick, place, on_held=lambda: arena.render(include_ground_truth=True))
        if out.outcome != OUTCOME_PLACED or out.held_result is None:
            continue
        held, after = out.held_result, arena.render(include_ground_truth=True)
        for v in label_interaction(before, held, after, (pick.x, pick.y), cfg, place_xy=(place.x, place.y)):
            if v.mask is None:
                continue
            gt_l = (before if v.pair == PAIR_PICK else after).gt_instances[v.camera]
            q = assess_view(v.mask, gt_l, held.gt_instances[v.camera], v.pick_px, cfg)
            if not q.moved_id:
                continue
            obj = gt_l == q.moved_id
            mode = classify(v.mask, obj, q.merged)
            centre, size = mask_box_centre_and_size(v.mask)
            scale = float(mc.object_fraction) * window / size
            win, lab_w = cut_window(v.image, centre, scale, window, fill, v.mask, msize)
            _, gt_w = cut_window(v.image, centre, scale, window, fill, obj, msize)
            if not lab_w.any():
                continue
            x_t = model.normalise(torch.from_numpy(np.ascontiguousarray(win)).permute(2, 0, 1)[None])
            with torch.no_grad():
                _, logits = model(x_t, heads=("mask",))
            target = robust_targets(logits.float(), torch.from_numpy(lab_w)[None], b)[0].numpy()
            iou = lambda a, c: float((a & c).sum()) / max(float((a | c).sum()), 1.0)   # noqa: E731
            rows.append((mode, float((target != lab_w).mean()), iou(lab_w, gt_w), iou(target, gt_w)))
    arena.close()
    print(f"checkpoint: {ckpt}")
    print(f"iou_bound: {b}")
    print(f"labels: {len(rows)}")
    gains = []
    for mode in ("good", "merged", "partial", "spill", "other"):
        sel = [r for r in rows if r[0] == mode]
        if not sel:
            continue
        flip = np.mean([r[1] for r in sel])
        before_iou = np.mean([r[2] for r in sel])
        after_iou = np.mean([r[3] for r in sel])
        gains += [r[3] - r[2] for r in sel]
        print(f"{mode}_share: {len(sel) / len(rows):.3f}")
        print(f"{mode}_flip_fraction: {flip:.3f}")
        print(f"{mode}_window_iou_label: {before_iou:.3f}")
        print(f"{mode}_window_iou_rsl_target: {after_iou:.3f}")
    print(f"mean_window_iou_gain_from_rsl: {np.mean(gains) if gains else float('nan'):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
