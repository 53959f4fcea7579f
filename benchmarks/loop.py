"""Interactions per minute of the full ROS loop in sim (interaction_loop.launch), with
training paused (no trainer node) and with the online trainer running.

    .venv/bin/python benchmarks/loop.py [--quick] [--interactions N] [--arena default|procedural]

The rate is measured between the first and the last interaction (start-up excluded)
from the coordinator's on-disk counter. Target: >= 40/min with training paused. Without
--quick it also measures the loop without loop.reuse_after_shot (the default reuses an
interaction's I_t+1 as the next one's I_t: one capture less) and with every camera rendered
in the world process (``arena.render_processes: 1``; the default forks a snapshot of the
world to render half the cameras on the other core) in the same run.
``machine_reference_segment_s`` is the host's speed during the run (an untrained segmenter
pass on a fixed frame): absolute rates from different days compare only beside it. ``--arena procedural``
runs every measurement on the arena before the realistic one (config/procedural.yaml; the 40/min
target was first met there).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))   # test/support

def measure(master, tmp: Path, interactions: int, train: bool, timeout: float,
            overrides: dict | None = None) -> float:
    import yaml
    from support.ros_testing import ManagedProcess, interaction_marks
    name = ("train" if train else "paused") + "".join("_" + k.rsplit(".", 1)[-1]
                                                      for k in overrides or {})
    data = tmp / name
    counter = data / "robot0.next_interaction"
    preset = tmp / f"{name}.yaml"
    preset.write_text(yaml.safe_dump({"base": "default", **_nested(overrides or {})}))
    proc = ManagedProcess(["roslaunch", "seg_by_interaction", "interaction_loop.launch",
                           f"interactions:={interactions}", f"data_dir:={data}",
                           f"train:={'true' if train else 'false'}", f"preset:={preset}"],
                          master.env, tmp / f"launch_{name}.log")
    marks = interaction_marks(proc, [counter], interactions, timeout)
    done = max(marks) if marks else 0
    if done < 2 or 1 not in marks:
        raise RuntimeError(f"the loop made {done} interactions; log: {proc.log()[-3000:]}")
    return 60.0 * (done - 1) / (marks[done] - marks[1])


def machine_reference(frames: int = 5) -> float:
    """Median seconds of one untrained default segmenter pass on a fixed frame: the host's
    speed at the time of the run (it varies by ~1.7x over a day here), printed beside the
    rates so that runs on different days can be compared."""
    import numpy as np
    from seg_by_interaction.config import load_config
    from seg_by_interaction.perception.inference import Segmenter, build_model
    cfg = load_config("default")
    h, w = cfg.arena.image_height, cfg.arena.image_width
    image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    seg = Segmenter(build_model(cfg), cfg)
    try:
        seg.segment(image)                                   # warm-up
        times = []
        for _ in range(frames):
            t0 = time.perf_counter()
            seg.segment(image)
            times.append(time.perf_counter() - t0)
    finally:
        seg.close()
    return float(np.median(times))


def _nested(dotted: dict) -> dict:
    out: dict = {}
    for key, value in dotted.items():
        *path, leaf = key.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--interactions", type=int, default=None)
    ap.add_argument("--arena", default="default", choices=("default", "procedural"),
                    help="the arena: default, or procedural (config/procedural.yaml)")
    args = ap.parse_args()
    from seg_by_interaction.config import preset_overrides
    arena = preset_overrides(args.arena) if args.arena != "default" else {}
    n = args.interactions or (6 if args.quick else 40)
    from support.ros_testing import RosMaster, exit_on_sigterm
    exit_on_sigterm()          # `timeout` / kill: the finally below stops the master
    reference_before = machine_reference()
    with tempfile.TemporaryDirectory(prefix="sbi_loop_bench_") as d:
        tmp = Path(d)
        master = RosMaster(tmp)
        try:
            with_training = None if args.quick else measure(master, tmp, n, True, 900, arena)
            no_reuse = None if args.quick else measure(master, tmp, n, False, 900,
                                                       {**arena, "loop.reuse_after_shot": False})
            one_renderer = None if args.quick else measure(master, tmp, n, False, 900,
                                                           {**arena, "arena.render_processes": 1})
            paused = measure(master, tmp, n, False, 900, arena)
        finally:
            master.stop()
    print(f"arena: {args.arena}")
    print(f"machine_reference_segment_s: {(reference_before + machine_reference()) / 2:.3f}")
    print(f"interactions: {n}")
    if with_training is not None:
        print(f"interactions_per_min_training_on: {with_training:.1f}")
    if no_reuse is not None:
        print(f"interactions_per_min_paused_capturing_every_before: {no_reuse:.1f}")
        print(f"reuse_after_shot_speedup: {paused / no_reuse:.2f}")
    if one_renderer is not None:
        print(f"interactions_per_min_paused_one_render_process: {one_renderer:.1f}")
        print(f"render_processes_speedup: {paused / one_renderer:.2f}")
    print(f"interactions_per_min_training_paused: {paused:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
