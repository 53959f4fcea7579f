"""Command line for experiments without ROS.

    python -m seg_by_interaction.experiments eval-set   --out DIR [--split test] ...
    python -m seg_by_interaction.experiments passive    --data-dir DIR
    python -m seg_by_interaction.experiments loop-report --data-dir DIR --eval-json J --out DIR
    python -m seg_by_interaction.experiments study      --budget cpu|tiny --out DIR
    python -m seg_by_interaction.experiments ablate     --out DIR [--variants a,b] [--jobs 2]
    python -m seg_by_interaction.experiments passive-twin --reference RUN_DIR --out DIR
    python -m seg_by_interaction.experiments replay-training --reference RUN_DIR --out DIR [--set K=V]
    python -m seg_by_interaction.experiments rearrange  --out DIR [--episodes N] [--checkpoint P ...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seg_by_interaction.config import ConfigError, load_config, parse_override


def _cfg(args) -> dict:
    from seg_by_interaction.runtime import apply_runtime
    cfg = load_config(args.preset, dict(parse_override(o) for o in args.set or []))
    apply_runtime(cfg)
    return cfg


def cmd_eval_set(args) -> int:
    from seg_by_interaction.experiments.evaluate import ensure_eval_set, ensure_out_of_arena_set
    cfg = _cfg(args)
    if args.out_of_arena:
        print(ensure_out_of_arena_set(args.out, cfg))
        return 0
    path = ensure_eval_set(args.out, cfg, split=args.split, object_split=args.objects,
                           seed=args.seed, num_backgrounds=args.backgrounds,
                           images_per_background=args.per_background)
    print(path)
    return 0


def cmd_passive(args) -> int:
    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.labeling.passive import collect_passive, passive_complete
    from seg_by_interaction.sim.arena import Arena
    from seg_by_interaction.sim.robot import SimRobot
    cfg = _cfg(args)
    store = DatasetStore(Path(args.data_dir) / "store", cfg)
    have = store.count(sources=["passive"])
    if passive_complete(store) and not args.force:
        print(f"passive bootstrap already there: {have} examples")
    else:
        if have:
            print(f"passive bootstrap incomplete ({have} examples, the collection was cut off): "
                  "collecting again, keeping what is stored")
        with Arena(cfg, seed=args.seed, split="train") as arena:
            n = collect_passive(store, arena, SimRobot(arena), cfg, seed=args.seed)
        print(f"passive bootstrap: {n} examples from random pushes "
              f"({store.count(sources=['passive']) - have} new)")
    store.close()
    if args.pretrain:   # Algorithm 1 line 1, before the loop: the robot starts with model v1
        from seg_by_interaction.training.online import OnlineTrainer
        online = OnlineTrainer(cfg, args.data_dir, device=cfg["device"], progress=True)
        try:
            info = online.pretrain()
        finally:
            online.close()
        print(f"pre-trained model v{info.version}: {info.checkpoint}" if info is not None
              else f"pre-training: nothing to do (model v{online.version} exists or no passive examples)")
    return 0


def cmd_loop_report(args) -> int:
    from seg_by_interaction.experiments.loop_report import loop_report
    cfg = _cfg(args)
    path = loop_report(args.data_dir, args.eval_json, cfg, args.out, seed=args.seed,
                       checkpoints=args.checkpoints, command=args.command or "",
                       wall_clock={"interaction loop": args.loop_seconds} if args.loop_seconds else None,
                       ooa_json=args.ooa_json)
    print(path)
    return 0


def cmd_study(args) -> int:
    from seg_by_interaction.experiments.study import run_study
    cfg = _cfg(args)
    if args.jobs < 1:
        print("error: --jobs must be >= 1", file=sys.stderr)
        return 2
    path = run_study(cfg, args.out, budget=args.budget, seeds=args.seeds,
                     command=" ".join(["python -m seg_by_interaction.experiments"] + sys.argv[1:]),
                     jobs=args.jobs)
    print(path)
    return 0


def cmd_ablate(args) -> int:
    from seg_by_interaction.experiments.ablation import run_ablation
    cfg = _cfg(args)
    if args.jobs < 1:
        print("error: --jobs must be >= 1", file=sys.stderr)
        return 2
    names = [n for n in (args.variants or "").split(",") if n] or None
    path = run_ablation(cfg, args.out, names=names, seeds=args.seeds, interactions=args.interactions,
                        jobs=args.jobs,
                        command=" ".join(["python -m seg_by_interaction.experiments"] + sys.argv[1:]))
    print(path)
    return 0


def _rearrange_command(args, checkpoints) -> str:
    """The command line that reproduces this evaluation (checkpoints spelled out)."""
    parts = [".venv/bin/python -m seg_by_interaction.experiments"]
    if args.preset != "default":
        parts.append(f"--preset {args.preset}")
    parts += [f"--set {o}" for o in args.set or []]
    parts += ["rearrange", f"--out {args.out}"]
    parts += [f"--{k} {v}" for k, v in (("episodes", args.episodes), ("seed", args.seed)) if v is not None]
    parts += [f"--checkpoint {c or 'untrained'}" for c in checkpoints]
    if args.only:
        parts.append("--only " + " ".join(args.only))
    return " ".join(parts)


def cmd_passive_twin(args) -> int:
    from seg_by_interaction.experiments.ablation import passive_twin
    print(passive_twin(_cfg(args), args.reference, args.out))
    return 0


def cmd_replay_training(args) -> int:
    from seg_by_interaction.experiments.replay import replay_training
    print(replay_training(_cfg(args), args.reference, args.out, progress=True))
    return 0


def cmd_rearrange(args) -> int:
    from seg_by_interaction.rearrangement.evaluation import run_and_report, stage_checkpoints
    cfg = _cfg(args)
    if args.checkpoint:
        checkpoints = [None if c == "untrained" else c for c in args.checkpoint]
        missing = [c for c in checkpoints if c is not None and not Path(c).is_file()]
        if missing:
            raise FileNotFoundError(f"no such checkpoint: {', '.join(missing)}")
    else:
        checkpoints = stage_checkpoints(args.checkpoint_dir, args.stages)
    path = run_and_report(cfg, args.out, episodes=args.episodes, seed=args.seed,
                          checkpoints=checkpoints, only=args.only or (),
                          command=_rearrange_command(args, checkpoints))
    print(path)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seg_by_interaction.experiments",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", help="config preset name or YAML path")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a config key (repeatable), e.g. training.batch_size=8")
    sub = parser.add_subparsers(dest="command_name", required=True)

    p = sub.add_parser("eval-set", help="render a held-out evaluation set (COCO json + PNGs)")
    p.add_argument("--out", required=True)
    p.add_argument("--split", default="test", help="background split")
    p.add_argument("--objects", default=None, help="object split (default: same as --split)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backgrounds", type=int, default=None)
    p.add_argument("--per-background", type=int, default=None)
    p.add_argument("--out-of-arena", action="store_true",
                   help="the out-of-arena set instead (evaluation.out_of_arena)")
    p.set_defaults(func=cmd_eval_set)

    p = sub.add_parser("passive", help="bootstrap examples from watching random pushes")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="collect even if some exist")
    p.add_argument("--pretrain", action="store_true",
                   help="then pre-train model v1 on them (the trainer node resumes from it)")
    p.set_defaults(func=cmd_passive)

    p = sub.add_parser("loop-report", help="evaluate one run's checkpoints + baselines, write report")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--eval-json", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoints", type=int, default=5, help="checkpoints along the run to evaluate")
    p.add_argument("--command", dest="command", default="", help="the command that produced the run (for the report)")
    p.add_argument("--loop-seconds", type=float, default=None)
    p.add_argument("--ooa-json", default=None,
                   help="the out-of-arena set (eval-set --out-of-arena) scored beside the test split")
    p.set_defaults(func=cmd_loop_report)

    p = sub.add_parser("study", help="the whole study: every method, several seeds, the report")
    p.add_argument("--out", required=True)
    p.add_argument("--budget", default="cpu", choices=["cpu", "tiny"])
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the budget's)")
    p.add_argument("--jobs", type=int, default=1,
                   help="learned runs side by side in this many processes (2 on 2 cores)")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("ablate", help="ablations of the learning loop on the val split (docs/learning.md)")
    p.add_argument("--out", required=True)
    p.add_argument("--variants", default="", help="comma-separated names (default: all in config ablation.variants)")
    p.add_argument("--seeds", type=int, default=None)
    p.add_argument("--interactions", type=int, default=None)
    p.add_argument("--jobs", type=int, default=1, help="runs side by side in this many processes")
    p.set_defaults(func=cmd_ablate)

    p = sub.add_parser("passive-twin", help="a finished run's passive-only twin: its bootstrap "
                       "trained on the passive set alone for the same optimiser steps")
    p.add_argument("--reference", required=True, help="the run folder (e.g. results/loop)")
    p.add_argument("--out", required=True, help="the twin's folder (then: loop-report --data-dir OUT)")
    p.set_defaults(func=cmd_passive_twin)

    p = sub.add_parser("replay-training", help="a finished run's training replayed on the same "
                       "data with another recipe (--set training....): then loop-report --data-dir OUT")
    p.add_argument("--reference", required=True, help="the run folder (e.g. results/loop)")
    p.add_argument("--out", required=True, help="the replay's folder")
    p.set_defaults(func=cmd_replay_training)

    p = sub.add_parser("rearrange", help="rearrangement episodes in the arena: GT segments, "
                                         "learned stages, no-segmentation baseline; report")
    p.add_argument("--out", required=True)
    p.add_argument("--episodes", type=int, default=None, help="per method (default: config)")
    p.add_argument("--seed", type=int, default=None, help="scene seed (default: config)")
    p.add_argument("--checkpoint", action="append", metavar="PATH|untrained",
                   help="learned stage to evaluate (repeatable, in order; the last also with "
                        "the trunk descriptor)")
    p.add_argument("--checkpoint-dir", default="results/loop/checkpoints",
                   help="without --checkpoint: take the stages from this run's checkpoints")
    p.add_argument("--stages", type=int, default=3,
                   help="untrained + this many - 1 checkpoints spread over the run, newest last")
    p.add_argument("--only", nargs="+", metavar="METHOD",
                   help="method keys or kinds (ground_truth, learned, difference) to run")
    p.set_defaults(func=cmd_rearrange)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
