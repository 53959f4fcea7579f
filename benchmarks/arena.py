"""Arena speed: seconds per full interaction (pick, held shot, place; 4 cameras x 3 shots)
and render milliseconds per camera. Target: <= 1 s per interaction on 2 cores.

    .venv/bin/python benchmarks/arena.py [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from seg_by_interaction.config import load_config
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.sim.cameras import SimCameraRig
from seg_by_interaction.sim.footprint import footprint_grasp
from seg_by_interaction.sim.robot import SimRobot
from seg_by_interaction.types import Pose2D


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="few interactions (< 30 s)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n = 8 if args.quick else 40
    cfg = load_config()
    with Arena(cfg, seed=args.seed) as arena:
        rig, robot = SimCameraRig(arena), SimRobot(arena)
        t = time.perf_counter()
        arena.reset_scene()
        reset_s = time.perf_counter() - t
        # render cost alone
        t = time.perf_counter()
        for _ in range(5):
            rig.capture()
        render_ms = (time.perf_counter() - t) / (5 * len(rig.cameras)) * 1000
        rng = np.random.default_rng(args.seed)
        x0, x1, y0, y1 = arena.workspace
        lifted, times = 0, []
        for i in range(n):
            t = time.perf_counter()
            before = rig.capture(include_ground_truth=True)
            ids = arena.object_ids()
            target = ids[int(rng.integers(0, len(ids)))]
            pick = footprint_grasp(before, target, arena.workspace) or Pose2D(0.0, 0.0, 0.0)
            place = Pose2D(float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)), float(rng.uniform(0, np.pi)))
            out = robot.pick_place(pick, place, on_held=rig.capture)
            rig.capture()
            times.append(time.perf_counter() - t)
            lifted += bool(out.object_in_gripper)
        t = time.perf_counter()
        robot.reset_sweep()
        sweep_s = time.perf_counter() - t
    print(f"interactions: {n}")
    print(f"scene_reset_s: {reset_s:.3f}")
    print(f"reset_sweep_s: {sweep_s:.3f}")
    print(f"lift_rate_centroid_grasps: {lifted / n:.2f}")
    print(f"render_ms_per_camera: {render_ms:.1f}")
    print(f"render_share_of_interaction: {render_ms * 12 / 1000 / np.median(times):.2f}")
    print(f"seconds_per_interaction: {np.median(times):.3f}")


if __name__ == "__main__":
    main()
