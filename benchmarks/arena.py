"""Arena speed: seconds per full interaction (pick, held shot, place; 4 cameras x 3 shots),
render milliseconds per camera and the lift rate of centroid grasps, for the realistic
arena and (same run, same seed) the procedural one it replaced. Target: <= 1 s per
interaction on 2 cores.

    .venv/bin/python benchmarks/arena.py [--quick] [--arena default|procedural|both]
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


def measure(name: str, n: int, seed: int) -> dict:
    cfg = load_config(name)                 # default or procedural (config/procedural.yaml)
    with Arena(cfg, seed=seed) as arena:
        rig, robot = SimCameraRig(arena), SimRobot(arena)
        t = time.perf_counter()
        arena.reset_scene()
        reset_s = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(5):
            rig.capture()
        render_ms = (time.perf_counter() - t) / (5 * len(rig.cameras)) * 1000
        rng = np.random.default_rng(seed)
        x0, x1, y0, y1 = arena.workspace
        lifted, times = 0, []
        for i in range(n):
            if i and i % int(cfg.arena.reset_every) == 0:
                arena.reset_scene()
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
    return {"scene_reset_s": reset_s, "reset_sweep_s": sweep_s, "lift_rate_centroid_grasps": lifted / n,
            "render_ms_per_camera": render_ms,
            "render_share_of_interaction": render_ms * 12 / 1000 / float(np.median(times)),
            "seconds_per_interaction": float(np.median(times))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="few interactions (< 30 s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--arena", choices=("default", "procedural", "both"), default="both")
    args = ap.parse_args()
    n = 6 if args.quick else 40
    names = ("procedural", "default") if args.arena == "both" else (args.arena,)
    results = {name: measure(name, n, args.seed) for name in names}
    print(f"interactions: {n}")
    for name in names:
        prefix = "" if name == "default" else f"{name}_"
        for key, value in results[name].items():
            if key != "seconds_per_interaction":
                print(f"{prefix}{key}: {value:.3f}" if "ms" not in key else f"{prefix}{key}: {value:.1f}")
        if name != "default":
            print(f"{prefix}seconds_per_interaction: {results[name]['seconds_per_interaction']:.3f}")
    if len(names) == 2:
        ratio = results["default"]["seconds_per_interaction"] / results["procedural"]["seconds_per_interaction"]
        print(f"ratio_to_procedural_arena: {ratio:.2f}")
    if "default" in results:
        print(f"seconds_per_interaction: {results['default']['seconds_per_interaction']:.3f}")


if __name__ == "__main__":
    main()
