"""Research command line: the study, the ablations and what they are measured with.

    python -m sbi_research study      --budget cpu|tiny --out DIR [--jobs 2]
    python -m sbi_research ablate     --out DIR [--variants a,b] [--jobs 2]
    python -m sbi_research passive-twin --reference RUN_DIR --out DIR
    python -m sbi_research replay-training --reference RUN_DIR --out DIR [--set K=V]
    python -m sbi_research checkpoint-noise --run RUN_DIR --eval-set NAME=JSON --window LO-HI --out DIR
    python -m sbi_research rearrange  --out DIR [--episodes N] [--checkpoint P ...]
    python -m sbi_research arena-docs [--sheet docs/arena.png] [--table docs/assets.md]

Then ``python -m seg_by_interaction report --data-dir DIR ...`` scores a twin or a replay.
"""
from __future__ import annotations

import sys
from pathlib import Path

from seg_by_interaction.cli import parser_with_config, run, set_json
from seg_by_interaction.config import parse_override
from seg_by_interaction.runtime import apply_runtime

from sbi_research.config import load_config


def _cfg(args) -> dict:
    """The product preset with the research sections (--set may name either)."""
    cfg = load_config(args.preset, dict(parse_override(o) for o in args.set or []))
    apply_runtime(cfg)
    return cfg


def cmd_study(args) -> int:
    from sbi_research.study import run_study
    cfg = _cfg(args)
    if args.jobs < 1:
        print("error: --jobs must be >= 1", file=sys.stderr)
        return 2
    path = run_study(cfg, args.out, budget=args.budget, seeds=args.seeds,
                     command=" ".join(["python -m sbi_research"] + sys.argv[1:]),
                     jobs=args.jobs)
    print(path)
    return 0


def cmd_ablate(args) -> int:
    from sbi_research.ablation import run_ablation
    cfg = _cfg(args)
    if args.jobs < 1:
        print("error: --jobs must be >= 1", file=sys.stderr)
        return 2
    names = [n for n in (args.variants or "").split(",") if n] or None
    path = run_ablation(cfg, args.out, names=names, seeds=args.seeds, interactions=args.interactions,
                        jobs=args.jobs,
                        command=" ".join(["python -m sbi_research"] + sys.argv[1:]))
    print(path)
    return 0


def _rearrange_command(args, checkpoints) -> str:
    """The command line that reproduces this evaluation (checkpoints spelled out)."""
    parts = [".venv/bin/python -m sbi_research"]
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
    from sbi_research.ablation import passive_twin
    print(passive_twin(_cfg(args), args.reference, args.out))
    return 0


def cmd_replay_training(args) -> int:
    from sbi_research.replay import replay_training
    print(replay_training(_cfg(args), args.reference, args.out, progress=True))
    return 0


def cmd_checkpoint_noise(args) -> int:
    from sbi_research.checkpoint_noise import checkpoint_noise, parse_window
    if args.jobs < 1:
        print("error: --jobs must be >= 1", file=sys.stderr)
        return 2
    try:
        windows = [parse_window(w) for w in args.window]
        sets = dict(args.eval_set)
        missing = [f"{name}: no such file {path}" for name, path in sets.items() if not Path(path).is_file()]
        if missing:
            raise ValueError("evaluation set " + "; ".join(missing))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(checkpoint_noise(_cfg(args), args.run, sets, windows, args.out, jobs=args.jobs,
                           command=" ".join(["python -m sbi_research"] + sys.argv[1:])))
    return 0


def cmd_arena_docs(args) -> int:
    """docs/arena.png (the libraries by split and a few camera views) and docs/assets.md."""
    from seg_by_interaction.assets.build import ensure_library
    from seg_by_interaction.sim.arena import Arena
    from sbi_research.arena_docs import contact_sheet, provenance_markdown
    cfg = _cfg(args)
    manifest = ensure_library(cfg)
    with Arena(cfg, seed=args.seed, split="train", library=manifest) as arena:
        sheet = contact_sheet(arena, args.sheet)
        Path(args.table).write_text(provenance_markdown(arena, manifest,
                                                        "python -m sbi_research arena-docs"))
    print(f"wrote {sheet} and {args.table}")
    return 0


def cmd_rearrange(args) -> int:
    from sbi_research.rearrangement.evaluation import run_and_report, stage_checkpoints
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


def cmd_pybullet_table(args) -> int:
    from sbi_research.environments import pybullet_table
    print(pybullet_table(args.out, random_models=args.random_models))
    return 0


def main(argv=None) -> int:
    parser = parser_with_config("python -m sbi_research", __doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command_name", required=True)

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
    p.add_argument("--out", required=True,
                   help="the twin's folder (then: python -m seg_by_interaction report --data-dir OUT)")
    p.set_defaults(func=cmd_passive_twin)

    p = sub.add_parser("replay-training", help="a finished run's training replayed on the same "
                       "data with another recipe (--set training....): then loop-report --data-dir OUT")
    p.add_argument("--reference", required=True, help="the run folder (e.g. results/loop)")
    p.add_argument("--out", required=True, help="the replay's folder")
    p.set_defaults(func=cmd_replay_training)

    p = sub.add_parser("checkpoint-noise", help="score every checkpoint in windows of a finished "
                       "run: how much AP moves from one model to the next")
    p.add_argument("--run", required=True, help="the run folder (holds checkpoints/)")
    p.add_argument("--eval-set", type=set_json, action="append", required=True, metavar="NAME=JSON",
                   help="an evaluation set's annotations.json (repeatable)")
    p.add_argument("--window", action="append", required=True, metavar="LO-HI",
                   help="interactions seen, inclusive (repeatable; >= 3 checkpoints each)")
    p.add_argument("--out", required=True)
    p.add_argument("--jobs", type=int, default=2)
    p.set_defaults(func=cmd_checkpoint_noise)

    p = sub.add_parser("arena-docs", help="docs/arena.png (contact sheet) and docs/assets.md "
                       "(every asset's source, creator and licence)")
    p.add_argument("--sheet", default="docs/arena.png")
    p.add_argument("--table", default="docs/assets.md")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_arena_docs)

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

    p = sub.add_parser("pybullet-table", help="an environment folder to adapt to (objects/ and "
                       "surfaces/ the default arena never shows): then python -m seg_by_interaction "
                       "environment OUT --object-scale 0.75")
    p.add_argument("--out", required=True)
    p.add_argument("--random-models", type=int, default=8,
                   help="procedural objects from pybullet_data's random_urdfs besides the named models")
    p.set_defaults(func=cmd_pybullet_table)

    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
