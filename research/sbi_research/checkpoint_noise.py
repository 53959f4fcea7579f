"""How much a run's AP moves from one model to the next: the checkpoint-to-checkpoint noise.

A report scores five checkpoints hundreds of interactions apart; whether a drop between two of
them is the model getting worse or the luck of where an update stopped needs a yardstick.
Adjacent models of one run (one update, ~120 SGD steps, apart) have learned nearly the same
thing, so the spread of their AP differences is the noise of a single checkpoint's AP on that
set: with independent errors of standard deviation s at each checkpoint, a difference between
two has standard deviation s * sqrt(2). This scores every numbered checkpoint in a few windows
of a finished run (late ones say most: the curve is flattest there) and writes the spread.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from seg_by_interaction.evaluation.checkpoints import EvalTask, checkpoint_progress, evaluate_tasks
from seg_by_interaction.evaluation.eval_set import EvalSet
from seg_by_interaction.evaluation.report import run_entry
from seg_by_interaction.training.online import list_checkpoints


def adjacent_noise(aps: Sequence[float]) -> dict:
    """The spread of AP between neighbouring checkpoints (in AP points as given).

    ``diff_sd``: standard deviation of the differences between neighbours (what a drop
    between two checkpoints is compared with); ``checkpoint_sd``: one checkpoint's own noise,
    ``diff_sd / sqrt(2)``; ``max_abs_diff``: the largest step. The trend between neighbours
    is taken as negligible, so a window on a rising stretch overstates the noise."""
    values = np.asarray(list(aps), dtype=float)
    if values.ndim != 1 or len(values) < 3:
        raise ValueError(f"need the AP of at least 3 neighbouring checkpoints, got {len(values)}")
    if not np.all(np.isfinite(values)):
        raise ValueError("AP values must be finite")
    diffs = np.diff(values)
    sd = float(np.std(diffs, ddof=1))
    return {"checkpoints": int(len(values)), "mean": float(values.mean()),
            "diff_sd": sd, "checkpoint_sd": sd / math.sqrt(2.0),
            "max_abs_diff": float(np.abs(diffs).max())}


def parse_window(text: str) -> tuple[int, int]:
    """``LO-HI`` (interactions seen, inclusive) -> (lo, hi)."""
    lo, sep, hi = text.partition("-")
    try:
        window = (int(lo), int(hi))
    except ValueError:
        window = None
    if not sep or window is None or window[0] < 0 or window[1] < window[0]:
        raise ValueError(f"a window is LO-HI in interactions, 0 <= LO <= HI; got {text!r}")
    return window


def checkpoints_in_windows(run_dir: str | Path, windows: Sequence[tuple[int, int]]) -> list[dict]:
    """Every numbered checkpoint of the run whose ``interactions_seen`` lies in a window."""
    found = list_checkpoints(Path(run_dir) / "checkpoints")
    if not found:
        raise FileNotFoundError(f"no numbered checkpoints under {Path(run_dir) / 'checkpoints'}")
    chosen = []
    for version, path in found:
        seen = checkpoint_progress(path)["interactions_seen"]
        for w, (lo, hi) in enumerate(windows):
            if lo <= seen <= hi:
                chosen.append({"version": version, "path": str(path), "interactions": seen,
                               "window": w})
    return chosen


def checkpoint_noise(cfg, run_dir: str | Path, eval_sets: dict[str, str],
                     windows: Sequence[tuple[int, int]], out_dir: str | Path,
                     jobs: int = 2, command: str = "", progress: bool = True) -> Path:
    """Score the checkpoints in ``windows`` on each set; write noise.json, noise.md, noise.png."""
    for name, js in eval_sets.items():          # every set readable before anything is scored
        EvalSet.load(js)
    chosen = checkpoints_in_windows(run_dir, windows)
    counts = [sum(c["window"] == w for c in chosen) for w in range(len(windows))]
    short = [f"{lo}-{hi}" for (lo, hi), n in zip(windows, counts) if n < 3]
    if short:
        raise ValueError(f"windows with fewer than 3 checkpoints: {', '.join(short)} (widen them)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tasks = [(name, c, EvalTask(cfg, js, f"v{c['version']} ({name})", checkpoint=c["path"]))
             for name, js in eval_sets.items() for c in chosen]
    done = evaluate_tasks([t for _, _, t in tasks], jobs=jobs, progress=progress)
    thresholds = [str(t) for t in cfg.evaluation.iou_thresholds]
    rows = []
    for (name, c, _), ev in zip(tasks, done):
        ap = run_entry(ev, None)["ap"]["voc07"]
        rows.append({"set": name, "version": c["version"], "interactions": c["interactions"],
                     "window": c["window"], "ap": {t: 100.0 * ap[t] for t in thresholds}})
    summary = []
    for name in eval_sets:
        for w, (lo, hi) in enumerate(windows):
            for t in thresholds:
                aps = [r["ap"][t] for r in sorted(rows, key=lambda r: r["version"])
                       if r["set"] == name and r["window"] == w]
                summary.append({"set": name, "window": [lo, hi], "iou": t, **adjacent_noise(aps)})
    results = {"command": command, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "run_dir": str(run_dir), "eval_sets": eval_sets, "protocol": "voc07 (authors')",
               "checkpoints": rows, "noise": summary}
    (out / "noise.json").write_text(json.dumps(results, indent=1))
    _figure(rows, thresholds, out / "noise.png")
    (out / "noise.md").write_text(_markdown(results, thresholds))
    return out / "noise.md"


def _figure(rows: list[dict], thresholds: list[str], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sets = list(dict.fromkeys(r["set"] for r in rows))
    fig, axes = plt.subplots(1, len(thresholds), figsize=(5 * len(thresholds), 3.6), squeeze=False)
    for ax, t in zip(axes[0], thresholds):
        for name in sets:
            mine = sorted((r for r in rows if r["set"] == name), key=lambda r: r["version"])
            for w in sorted({r["window"] for r in mine}):
                part = [r for r in mine if r["window"] == w]
                ax.plot([r["interactions"] for r in part], [r["ap"][t] for r in part], ".-",
                        color=f"C{sets.index(name)}", label=name if w == 0 else None)
        ax.set_xlabel("interactions seen by the checkpoint")
        ax.set_ylabel(f"AP@{t} (authors')")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("every checkpoint in the windows: the step-to-step spread is the noise")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown(results: dict, thresholds: list[str]) -> str:
    lines = ["# Checkpoint-to-checkpoint noise", "",
             f"{results['date']}; run `{results['run_dir']}`; `{results['command']}`", "",
             "Neighbouring checkpoints (one model update apart) of one run, each scored on the "
             "whole set. `diff sd` is the standard deviation of the AP change from one checkpoint "
             "to the next: a drop between two checkpoints within 2 x `diff sd` is what the next "
             "update may give back. `checkpoint sd` = `diff sd` / sqrt(2) is one checkpoint's "
             "own noise. Authors' protocol, AP in points.", "",
             "| set | interactions | IoU | checkpoints | mean AP | diff sd | checkpoint sd | "
             "largest step |", "|---|---|---|---|---|---|---|---|"]
    for s in results["noise"]:
        lines.append(f"| {s['set']} | {s['window'][0]}-{s['window'][1]} | {s['iou']} | "
                     f"{s['checkpoints']} | {s['mean']:.1f} | {s['diff_sd']:.1f} | "
                     f"{s['checkpoint_sd']:.1f} | {s['max_abs_diff']:.1f} |")
    lines += ["", "| set | version | interactions | " + " | ".join(f"AP@{t}" for t in thresholds)
              + " |", "|---|---|---|" + "---|" * len(thresholds)]
    for r in sorted(results["checkpoints"], key=lambda r: (r["set"], r["version"])):
        lines.append(f"| {r['set']} | {r['version']} | {r['interactions']} | "
                     + " | ".join(f"{r['ap'][t]:.1f}" for t in thresholds) + " |")
    lines += ["", "![AP of every checkpoint in the windows](noise.png)", ""]
    return "\n".join(lines)
