"""The product's command line (no ROS master needed): the steps of the main job around the
ROS loop, and what a user runs by hand.

    python -m seg_by_interaction eval-set  --out DIR [--split test] [--out-of-arena] ...
    python -m seg_by_interaction bootstrap --data-dir DIR [--pretrain]
    python -m seg_by_interaction report    --data-dir DIR --eval-json J [--ooa-json J2] --out DIR
    python -m seg_by_interaction render-report results.json OUT_DIR
    python -m seg_by_interaction ship-model --run-dir results/loop
    python -m seg_by_interaction segment-folder IN OUT [--checkpoint P]
    python -m seg_by_interaction environment DIR --out PRESET.yaml

Research commands (the study, ablations, replays) are ``python -m sbi_research``.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from seg_by_interaction.cli import config_from_args as _cfg
from seg_by_interaction.cli import parser_with_config, run, set_json


def cmd_eval_set(args) -> int:
    from seg_by_interaction.evaluation.sets import ensure_eval_set, ensure_out_of_arena_set
    cfg = _cfg(args)
    if args.out_of_arena:
        print(ensure_out_of_arena_set(args.out, cfg))
        return 0
    print(ensure_eval_set(args.out, cfg, split=args.split, object_split=args.objects,
                          seed=args.seed, num_backgrounds=args.backgrounds,
                          images_per_background=args.per_background))
    return 0


def cmd_bootstrap(args) -> int:
    """Paper 4.3 / Algorithm 1 line 1: masks from watching random pushes, then model v1."""
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
    if args.pretrain:   # the robot starts with model v1
        from seg_by_interaction.training.online import OnlineTrainer
        online = OnlineTrainer(cfg, args.data_dir, device=cfg.device, progress=True)
        try:
            info = online.pretrain()
        finally:
            online.close()
        print(f"pre-trained model v{info.version}: {info.checkpoint}" if info is not None
              else f"pre-training: nothing to do (model v{online.version} exists or no passive examples)")
    return 0


def stage_seconds(text: str) -> tuple[str, float]:
    """``NAME=SECONDS`` of --stage-seconds: a step of the job timed outside the report."""
    name, sep, value = text.rpartition("=")
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not sep or not name.strip() or not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=SECONDS, seconds >= 0")
    return name.strip(), seconds


def cmd_report(args) -> int:
    from seg_by_interaction.evaluation.run_report import run_report
    cfg = _cfg(args)
    clock = dict(args.stage_seconds or [])
    if args.loop_seconds:
        clock["interaction loop"] = args.loop_seconds
    print(run_report(args.data_dir, args.eval_json, cfg, args.out, seed=args.seed,
                     checkpoints=args.checkpoints, command=args.command or "",
                     wall_clock=clock or None,
                     ooa_json=args.ooa_json, env_json=args.env_json))
    return 0


def cmd_progress(args) -> int:
    import os

    from seg_by_interaction.evaluation.progress import sets_of_run, watch
    cfg = _cfg(args)
    pcfg = cfg.evaluation.progress
    sets = dict(args.eval_sets) if args.eval_sets else sets_of_run(args.data_dir)
    images = pcfg.images if args.images is None else args.images
    if images < 1:
        raise ValueError(f"--images {images}: at least 1")
    every = 0.0 if args.every is None else (pcfg.every_s if args.every == 0 else args.every)
    if every < 0 or not math.isfinite(every):
        raise ValueError(f"--every {args.every}: seconds > 0")
    if args.rounds < 0:
        raise ValueError(f"--rounds {args.rounds}: 0 (until Ctrl-C) or more")
    os.nice(int(pcfg.nice))                  # the robot's own nodes go first
    out = args.out or str(Path(args.data_dir) / "progress")
    try:
        print(watch(args.data_dir, out, cfg, sets, int(images), every, int(args.rounds or 0)))
    except KeyboardInterrupt:
        print(f"stopped; {out}/progress.md has every round so far")
    except PermissionError as exc:              # an archived, read-only run: say where to write
        raise ValueError(f"cannot write {exc.filename}: {exc.strerror} (--out DIR writes elsewhere)") from exc
    return 0


def cmd_render_report(args) -> int:
    """report.md and figures again from a results.json (its own report settings if it has
    them, else this preset's)."""
    from seg_by_interaction.config.schema import Report
    from seg_by_interaction.evaluation.report import load_results, write_report
    results = load_results(args.results)
    saved = results.get("meta", {}).get("config", {}).get("evaluation", {}).get("report")
    report_cfg = Report.model_validate(saved) if saved else _cfg(args).evaluation.report
    print(write_report(results, args.out_dir, report_cfg, base_dir=Path(args.results).parent))
    return 0


def cmd_ship_model(args) -> int:
    """models/default.pt (+ its card) from a finished run: its newest checkpoint and report."""
    from seg_by_interaction.perception.shipped import ship
    from seg_by_interaction.training.online import list_checkpoints
    run_dir = Path(args.run_dir)
    found = list_checkpoints(run_dir / "checkpoints")
    if not found:
        raise FileNotFoundError(f"{run_dir}/checkpoints holds no numbered checkpoint")
    report = run_dir / "report" / "results.json"
    print(ship(found[-1][1], report if report.is_file() else None, args.command or
               f"python -m seg_by_interaction ship-model --run-dir {run_dir}"))
    return 0


def cmd_environment(args) -> int:
    from seg_by_interaction.config import load_config
    from seg_by_interaction.environment import write_environment_preset
    path = write_environment_preset(args.folder, args.out, args.base, args.object_scale, args.up)
    load_config(str(path))               # a preset that does not load is reported here, not by a node
    print(path)
    return 0


def cmd_segment_folder(args) -> int:
    from seg_by_interaction.segment_folder import run as segment_folder
    return segment_folder(_cfg(args), args.src, args.out, args.checkpoint, args.max_hypotheses,
                          args.min_score)


def main(argv=None) -> int:
    parser = parser_with_config("python -m seg_by_interaction", __doc__.splitlines()[0])
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

    p = sub.add_parser("bootstrap", help="the passive bootstrap: masks from watching random pushes")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="collect even if some exist")
    p.add_argument("--pretrain", action="store_true",
                   help="then pre-train model v1 on them (the trainer node resumes from it)")
    p.set_defaults(func=cmd_bootstrap)

    p = sub.add_parser("report", help="evaluate one run's checkpoints + baselines, write report.md")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--eval-json", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoints", type=int, default=5, help="checkpoints along the run to evaluate")
    p.add_argument("--command", dest="command", default="", help="the command that produced the run (for the report)")
    p.add_argument("--loop-seconds", type=float, default=None)
    p.add_argument("--stage-seconds", type=stage_seconds, action="append", metavar="NAME=SECONDS",
                   help="a step before the loop and its seconds, for the report's wall clock "
                        "(repeatable, in order)")
    p.add_argument("--env-json", default=None,
                   help="held-out scenes of the environment the run adapted to (eval-set under its preset)")
    p.add_argument("--ooa-json", default=None,
                   help="the out-of-arena set (eval-set --out-of-arena) scored beside the test split")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("progress", help="score a running run's newest model on a few held-out "
                       "images per set, write progress.md + .png (again every --every seconds)")
    p.add_argument("--data-dir", required=True, help="the run folder (scripts/run_loop.sh's RUN_DIR)")
    p.add_argument("--eval-set", type=set_json, action="append", metavar="NAME=JSON", dest="eval_sets",
                   help="an evaluation set (repeatable; default: the run's eval_sets.json)")
    p.add_argument("--images", type=int, default=None, help="images per set (evaluation.progress.images)")
    p.add_argument("--every", type=float, nargs="?", const=0, default=None, metavar="SECONDS",
                   help="repeat every SECONDS (alone: evaluation.progress.every_s) until Ctrl-C")
    p.add_argument("--rounds", type=int, default=0, help="with --every: stop after this many rounds")
    p.add_argument("--out", default=None, help="where progress.md goes (default: DATA_DIR/progress)")
    p.set_defaults(func=cmd_progress)

    p = sub.add_parser("environment", help="a preset whose arena shows a folder's objects/ and "
                       "surfaces/ (a new table to adapt to)")
    p.add_argument("folder", help="a folder with objects/ and surfaces/")
    p.add_argument("--out", required=True, help="the preset file to write (YAML)")
    p.add_argument("--base", default="default", help="the preset it changes")
    p.add_argument("--object-scale", type=float, default=1.0, help="metres per unit of the object files")
    p.add_argument("--up", default="z", help="the object files' up axis (y or z)")
    p.set_defaults(func=cmd_environment)

    p = sub.add_parser("segment-folder", help="label images (16-bit PNG) of every photo in a folder")
    p.add_argument("src", help="a folder of images")
    p.add_argument("out", help="where the label images go")
    p.add_argument("--checkpoint", default=None, help="a checkpoint (default: the shipped model)")
    p.add_argument("--max-hypotheses", type=int, default=20)
    p.add_argument("--min-score", type=float, default=0.5)
    p.set_defaults(func=cmd_segment_folder)

    p = sub.add_parser("ship-model", help="make a run's final model the one the package ships "
                       "(models/default.pt + MODEL_CARD.md)")
    p.add_argument("--run-dir", required=True, help="a finished run (e.g. results/loop)")
    p.add_argument("--command", default="", help="the command that produced the run (for the card)")
    p.set_defaults(func=cmd_ship_model)

    p = sub.add_parser("render-report", help="report.md + figures again from a results.json")
    p.add_argument("results", help="results JSON written by a report")
    p.add_argument("out_dir")
    p.set_defaults(func=cmd_render_report)
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
