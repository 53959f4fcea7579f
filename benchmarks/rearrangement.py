"""Rearrangement success in the arena (paper 6.3.1): episodes with 1-3 displaced objects,
success = every object within 15 px of its target position (ground-truth positions).

    .venv/bin/python benchmarks/rearrangement.py [--quick] [--episodes N] [--checkpoint-dir D]
    .venv/bin/python benchmarks/rearrangement.py --calibrate   # descriptor cost separation

--quick: a few episodes with ground-truth segments (< 30 s). Full: the configured number of
episodes with ground-truth segments and with the newest learned checkpoint (headline last).
"""
from __future__ import annotations

import argparse
import sys
import time

from sbi_research.config import load_config
from sbi_research.rearrangement.evaluation import MethodSpec, run_method, summarise
from seg_by_interaction.runtime import apply_runtime


def report(name: str, outcomes) -> None:
    s = summarise(outcomes)
    print(f"mean_final_px_{name}: {s['final_mean_px']:.1f}")
    print(f"mean_interactions_{name}: {s['mean_interactions']:.2f}")
    print(f"seconds_per_episode_{name}: {s['seconds_per_episode']:.2f}")
    print(f"success_rate_{name}: {s['success_rate']:.2f}")


def calibrate(cfg, episodes: int) -> None:
    from seg_by_interaction.perception.inference import load_segmenter
    from sbi_research.rearrangement.calibration import pair_costs, separation
    from seg_by_interaction.rearrangement.descriptors import make_descriptor
    from seg_by_interaction.training.online import latest_checkpoint
    rc = cfg.rearrangement
    found = latest_checkpoint("results/loop/checkpoints")
    descriptors = {"appearance": make_descriptor("appearance", rc)}
    if found is not None:
        model = load_segmenter(found[1], cfg).model
        descriptors[f"trunk_v{found[0]}"] = make_descriptor("trunk", rc, model)
    descriptors["trunk_untrained"] = make_descriptor("trunk", rc, load_segmenter(None, cfg).model)
    costs = pair_costs(cfg, descriptors, episodes, seed=int(rc.evaluation.seed) + 100)
    print(f"episodes: {episodes}")
    for name, c in costs.items():
        for key, value in separation(c).items():
            print(f"{name}_{key}: {value:.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a few episodes, ground-truth segments")
    ap.add_argument("--episodes", type=int, default=None)
    ap.add_argument("--checkpoint-dir", default="results/loop/checkpoints")
    ap.add_argument("--calibrate", action="store_true", help="cost separation per descriptor")
    args = ap.parse_args()
    cfg = load_config()
    apply_runtime(cfg)
    ec = cfg.rearrangement.evaluation
    if args.calibrate:
        calibrate(cfg, args.episodes or 25)
        return 0
    n = args.episodes or (3 if args.quick else int(ec.episodes))
    seed = int(ec.seed)
    t0 = time.perf_counter()
    gt = run_method(cfg, MethodSpec("gt", "ground truth", "ground_truth", "appearance"), n, seed)
    learned, version = None, None
    if not args.quick:
        from seg_by_interaction.training.online import latest_checkpoint
        found = latest_checkpoint(args.checkpoint_dir)
        if found is None:
            print(f"error: no checkpoint in {args.checkpoint_dir}", file=sys.stderr)
            return 2
        version, path = found
        learned = run_method(cfg, MethodSpec("learned", "learned", "learned", "appearance", path),
                             n, seed)
    print(f"episodes: {n}")
    print(f"wall_clock_s: {time.perf_counter() - t0:.1f}")
    if learned is not None:
        print(f"learned_checkpoint: v{version}")
    report("ground_truth", gt)
    if learned is not None:
        report("learned_latest", learned)
    return 0


if __name__ == "__main__":
    sys.exit(main())
