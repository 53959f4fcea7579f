"""Progress of a run a user can watch while it learns (overnight, at a new table): the newest
model scored on a few held-out images of each set, the trainer's losses and the share of
interactions that lifted something, as ``progress.md`` + ``progress.png``.

Each round scores only models it has not scored (the newest, and model v1 as the start), so
running it every few minutes beside a live loop costs one small evaluation per round. It
reads the run folder and writes only under its own output folder (the store opens read-only).
The full report (``report``) stays the measurement; these are a few images per set.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from seg_by_interaction.evaluation.eval_set import EvalSet
from seg_by_interaction.evaluation.evaluator import evaluate_segmenter
from seg_by_interaction.evaluation.checkpoints import checkpoint_progress
from seg_by_interaction.perception.checkpoint import CheckpointError
from seg_by_interaction.perception.inference import load_segmenter
from seg_by_interaction.training.online import list_checkpoints

SCORES = "scores.jsonl"


def sets_of_run(data_dir: str | Path) -> dict[str, str]:
    """{name: annotations.json} the main job wrote for this run (``eval_sets.json``), or {}."""
    path = Path(data_dir) / "eval_sets.json"
    if not path.is_file():
        return {}
    try:
        sets = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(sets, dict) or not all(isinstance(v, str) for v in sets.values()):
        raise ValueError(f"{path}: expected {{name: path of an annotations.json}}")
    return {str(k): v for k, v in sets.items() if v}


def evenly(eval_set: EvalSet, count: int) -> EvalSet:
    """``count`` images spread over the set (the same ones every round)."""
    if len(eval_set) <= count:
        return eval_set
    keep = set(np.linspace(0, len(eval_set) - 1, count).round().astype(int).tolist())
    return EvalSet([im for i, im in enumerate(eval_set.images) if i in keep])


def read_jsonl(path: Path) -> tuple[list[dict], int]:
    """The JSON objects of a JSON-lines file and how many lines were not one (a line cut
    off by a crash, a damaged file): those are skipped, never fatal."""
    if not path.is_file():
        return [], 0
    rows, bad = [], 0
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(row, dict):
            rows.append(row)
        else:
            bad += 1
    return rows, bad


@dataclass
class Progress:
    """One run's progress folder: the scores so far, appended round by round."""
    data_dir: Path
    out_dir: Path

    @property
    def scores_path(self) -> Path:
        return self.out_dir / SCORES

    def scores(self) -> list[dict]:
        rows, _ = read_jsonl(self.scores_path)
        return [r for r in rows if isinstance(r.get("version"), int) and isinstance(r.get("set"), str)]

    def done(self) -> set[tuple[str, int]]:
        """(set, version) pairs scored so far."""
        return {(r["set"], r["version"]) for r in self.scores()}

    def to_score(self, set_names: Iterable[str], done: Optional[set] = None) -> list[tuple[int, Path]]:
        """Model v1 and the newest model, where some set has no score for them yet."""
        found = list_checkpoints(self.data_dir / "checkpoints")
        if not found:
            return []
        done = self.done() if done is None else done
        wanted = [found[0]] + ([found[-1]] if found[-1][0] != found[0][0] else [])
        return [(v, p) for v, p in wanted if any((name, v) not in done for name in set_names)]

    def score_round(self, cfg, sets: dict[str, EvalSet], log=print) -> list[dict]:
        """Score what ``to_score`` names on every set still missing it; append the lines."""
        done = self.done()
        added = []
        for version, path in self.to_score(sets, done):
            try:
                segmenter = load_segmenter(str(path), cfg, device=cfg.device)
                seen = checkpoint_progress(path)
            except (CheckpointError, OSError) as exc:    # being replaced, or damaged: next round
                log(f"progress: model v{version} not scored now: {exc}")
                continue
            for name, eval_set in sets.items():
                if (name, version) in done:
                    continue
                ev = evaluate_segmenter(segmenter.segment, eval_set, cfg, progress=False)
                row = {"version": version, "set": name, "images": len(eval_set),
                       "interactions": seen["interactions_seen"], "examples": seen["examples_seen"],
                       "ap": {t: float(ev.ap["voc07"][t]) for t in ev.ap["voc07"]},
                       "seconds": round(ev.seconds, 1), "stamp": time.time()}
                self.out_dir.mkdir(parents=True, exist_ok=True)
                with open(self.scores_path, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                added.append(row)
        return added

    def training(self) -> list[dict]:
        """The trainer's logged steps (training_metrics.jsonl), damaged lines skipped."""
        rows, _ = read_jsonl(self.data_dir / "training_metrics.jsonl")
        return [r for r in rows if _finite(r.get("step")) and _finite(r.get("mask_loss"))]

    def labels(self, cfg) -> Optional[dict]:
        """Interactions labelled and how many gave a positive mask (the object was lifted)."""
        from seg_by_interaction.data.store import DatasetStore
        root = self.data_dir / "store"
        if not (root / "index.sqlite").is_file():
            return None
        with DatasetStore(root, cfg, read_only=True) as store:
            return {"interactions": store.count_interactions(sources=["interaction"]),
                    "examples": store.count(sources=["interaction"]),
                    "positive": store.count(sources=["interaction"], positive=True)}

    def write(self, cfg, dpi: int = 100) -> Path:
        """progress.md and progress.png from everything scored so far (replaced whole)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        scores, training, labels = self.scores(), self.training(), self.labels(cfg)
        figure = self.out_dir / "progress.png"
        _figure(scores, training, figure, dpi)
        md = ["# Progress of " + str(self.data_dir), "",
              f"Updated {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}. AP in % (authors' "
              "protocol) on a few images per set: a quick look while the run learns; the run's "
              "report (`python -m seg_by_interaction report`) is the measurement.", ""]
        if labels:
            share = labels["positive"] / labels["examples"] if labels["examples"] else float("nan")
            md += [f"- interactions labelled: {labels['interactions']}; examples "
                   f"{labels['examples']}, {100 * share:.0f} % with an object mask", ""]
        if training:
            last = training[-1]
            md += [f"- trainer: step {last['step']}, mask loss {last['mask_loss']:.3f}", ""]
        if scores:
            names = sorted({r["set"] for r in scores})
            md += ["| model | interactions | " + " | ".join(f"{n} AP@0.3 / 0.5" for n in names) + " |",
                   "|---|---|" + "---|" * len(names)]
            for version in sorted({r["version"] for r in scores}):
                rows = {r["set"]: r for r in scores if r["version"] == version}
                first = next(iter(rows.values()))
                cells = [_ap_cell(rows.get(n)) for n in names]
                md += [f"| v{version} | {first['interactions']} | " + " | ".join(cells) + " |"]
            md += ["", "![progress](progress.png)", ""]
        else:
            md += ["_no model scored yet_", ""]
        out = self.out_dir / "progress.md"
        tmp = out.with_suffix(".md.tmp")
        tmp.write_text("\n".join(md))
        os.replace(tmp, out)
        return out


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ap_cell(row: Optional[dict]) -> str:
    if row is None:
        return "—"
    ap = row["ap"]
    return f"{100 * ap.get('0.3', float('nan')):.1f} / {100 * ap.get('0.5', float('nan')):.1f} ({row['images']} img)"


def _figure(scores: list[dict], training: list[dict], path: Path, dpi: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name in sorted({r["set"] for r in scores}):
        rows = sorted((r for r in scores if r["set"] == name), key=lambda r: r["version"])
        left.plot([r["interactions"] for r in rows], [100 * r["ap"].get("0.3", np.nan) for r in rows],
                  marker="o", label=name)
    left.set_title("AP@0.3 on a few held-out images per set", fontsize=10)
    left.set_xlabel("interactions")
    left.set_ylabel("AP (%)")
    left.grid(alpha=0.3)
    if scores:
        left.legend(fontsize=8)
    if training:
        right.plot([r["step"] for r in training], [r["mask_loss"] for r in training], lw=1)
    right.set_title("trainer: mask loss", fontsize=10)
    right.set_xlabel("SGD step")
    right.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    os.replace(tmp, path)


def watch(data_dir: str | Path, out_dir: str | Path, cfg, set_jsons: dict[str, str],
          images: int, every: float = 0.0, rounds: int = 0, log=print,
          sleep=time.sleep) -> Path:
    """Score and write once, or every ``every`` seconds (``rounds`` > 0: that many rounds;
    0: until interrupted)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ValueError(f"run folder not found: {data_dir}")
    if not set_jsons:
        raise ValueError(f"no evaluation set: give --eval-set NAME=annotations.json ({data_dir}/"
                         "eval_sets.json, written by scripts/run_loop.sh, names them otherwise)")
    sets = {name: evenly(EvalSet.load(js), images) for name, js in set_jsons.items()}
    progress = Progress(data_dir, Path(out_dir))
    done = 0
    while True:
        for row in progress.score_round(cfg, sets, log):
            log(f"progress: model v{row['version']} ({row['interactions']} interactions) on "
                f"{row['set']}: AP@0.3 {100 * row['ap'].get('0.3', float('nan')):.1f} "
                f"({row['images']} images)")
        report = progress.write(cfg, int(cfg.evaluation.report.dpi))
        done += 1
        if every <= 0 or (rounds and done >= rounds):
            return report
        sleep(every)
