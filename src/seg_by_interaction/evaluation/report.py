"""The study's report: ``report.md`` plus PNG figures, rendered from one results dict.

The experiment driver fills a plain, JSON-serialisable ``results`` dict; this module
renders it and saves/loads it (``save_results`` / ``load_results``) so a report can be
re-rendered without re-running anything:
``python -m seg_by_interaction render-report results.json OUT_DIR``.
Every part is optional: what is missing is shown as "not run", never invented.

Schema (AP values are fractions in [0, 1]; thresholds are string keys, "0.3"):

    AP     = {"voc07": {"0.3": float, "0.5": float}, "coco": {"0.3": ..., "0.5": ...}}
    RUN    = {"seed": int, "ap": AP, "ap_by_size": {protocol: {bin: {thr: float}}}}  # last optional
    results = {
      "meta": {                       # all optional
        "title": str, "command": str, "date": str, "preset": str,
        "eval_set": str,              # which evaluation set (path / description)
        "config": dict,               # the full configuration used
        "wall_clock_s": {step: float},
        "notes": [str],
      },
      "iou_thresholds": [0.3, 0.5],   # optional; else taken from the AP dicts
      "table": {ROW: {"runs": [RUN, ...]}},             # Table-1 analogue
      "ap_vs_interactions": {ROW: [{"interactions": int, "seed": int, "ap": AP}, ...]},
      "pr_curves": {ROW: {protocol: {thr: {"precision": [..], "recall": [..]}}}},
      "recall_at_precision": {"iou_threshold": 0.3, "precision_levels": [0.3, 0.5, 0.7],
                              "points": [{"interactions": int, "seed": int,
                                          "recall": [one per level]}]},
      "out_of_arena": {"eval_set": str, "table": {...}, "ap_vs_interactions": {...},
                       "size_counts": {bin: int}},   # a second set, same schema as above
      "size_counts": {bin: int},      # objects per size bin in the main set
      "generalisation": {"row": ROW,  # which method the 2x2 analysis evaluates
                         "cells": {CELL: {"runs": [RUN, ...]}}},
      "qualitative": {"columns": [method name, ...],
                      "examples": [{"image": path (absolute, or relative to the
                                    results JSON / out_dir), "height": int, "width": int,
                                    "ground_truth": [RLE, ...],
                                    "methods": {name: {"masks": [RLE], "scores": [..]}}}]},
    }

ROW is a key of ``TABLE_ROWS`` (unknown keys are listed after them); CELL is a key of
``GENERALISATION_CELLS``; RLE is a pycocotools run-length dict with str counts
(``metrics.encode_masks``). ``run_entry``, ``curve_entry`` and ``qualitative_example``
build the parts from evaluator output.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from seg_by_interaction.evaluation import figures
from seg_by_interaction.evaluation.evaluator import MethodEvaluation, threshold_key
from seg_by_interaction.evaluation.metrics import PROTOCOLS, encode_masks

TABLE_ROWS = {  # key: (label, supervision)
    "bottom_up": ("Bottom-up (Felzenszwalb + grouping; GOP stand-in)", "none (bottom-up)"),
    "bottom_up_tuned": ("Bottom-up, tuned (size + edge filters)", "bottom-up + arena knowledge"),
    "bottom_up_tuned_for_set": ("Bottom-up, tuned for this set (area filter for real sizes)",
                                "bottom-up + this set's knowledge"),
    "gt_supervised": ("GT-supervised (same network and budget)", "arena ground-truth masks"),
    "self_sup_ce": ("Self-supervised, cross-entropy", "self-supervised"),
    "self_sup_rsl": ("Self-supervised, robust set loss", "self-supervised"),
    "self_sup_rsl_no_refine": ("Self-supervised, robust set loss, masks not snapped to superpixels",
                               "self-supervised (ablation)"),
    "self_sup_human": ("Self-supervised + human (small GT set)", "semi-supervised"),
}
ABLATION_ROWS = {"self_sup_rsl_no_refine", "bottom_up_tuned_for_set"}   # listed only when run
GENERALISATION_CELLS = {  # key: (objects, backgrounds)
    "train_objects/train_backgrounds": ("train", "train"),
    "train_objects/test_backgrounds": ("train", "test"),
    "test_objects/train_backgrounds": ("test", "train"),
    "test_objects/test_backgrounds": ("test", "test"),
}
_DROPS = {  # scenario label: cell compared with train/train (paper Fig. 6)
    "novel backgrounds": "train_objects/test_backgrounds",
    "novel objects": "test_objects/train_backgrounds",
    "both novel": "test_objects/test_backgrounds",
}
NOT_RUN = "not run"


# ------------------------------------------------------------------ building results

def run_entry(evaluation: MethodEvaluation, seed: int | None) -> dict:
    """A RUN record ({"seed", "ap"}, and "ap_by_size" when the evaluation has it)."""
    out = {"seed": seed, "ap": {p: dict(v) for p, v in evaluation.ap.items()}}
    if evaluation.ap_by_size:
        out["ap_by_size"] = {p: {b: dict(v) for b, v in bins.items()}
                             for p, bins in evaluation.ap_by_size.items()}
    if evaluation.overlap_boundary:
        out["overlap_boundary"] = dict(evaluation.overlap_boundary)
    return out


def curve_entry(evaluation: MethodEvaluation, iou_thresholds: Sequence[float]) -> dict:
    """The ``pr_curves[ROW]`` value from one evaluator result."""
    return evaluation.pr_curves(iou_thresholds)


def qualitative_example(image_path: str | Path, ground_truth: np.ndarray,
                        methods: dict[str, tuple[np.ndarray, np.ndarray]], top_k: int) -> dict:
    """One qualitative row: GT masks [M, H, W] and per method (masks [N, H, W], scores [N]).

    Only each method's ``top_k`` highest-scoring masks are stored.
    """
    ground_truth = np.asarray(ground_truth, dtype=bool)
    if ground_truth.ndim != 3:
        raise ValueError(f"ground_truth must be [M, H, W], got {ground_truth.shape}")
    out = {"image": str(image_path), "height": int(ground_truth.shape[1]),
           "width": int(ground_truth.shape[2]), "ground_truth": encode_masks(ground_truth),
           "methods": {}}
    for name, (masks, scores) in methods.items():
        scores = np.asarray(scores, dtype=float)
        keep = np.argsort(-scores, kind="stable")[:top_k]
        out["methods"][name] = {"masks": encode_masks(np.asarray(masks, dtype=bool)[keep]),
                                "scores": scores[keep].tolist()}
    return out


# ------------------------------------------------------------------ save / load

def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, bytes):
        return obj.decode("ascii")
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def save_results(results: dict, path: str | Path) -> Path:
    """Write ``results`` as JSON (numpy values, bytes and paths converted)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(results), indent=1))
    return path


def load_results(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"results file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object at the top level")
    return data


# ------------------------------------------------------------------ rendering helpers

def _label(key: str) -> str:
    return TABLE_ROWS.get(key, (key, ""))[0]


def _thresholds(results: dict) -> list[str]:
    if results.get("iou_thresholds"):
        return [threshold_key(t) for t in results["iou_thresholds"]]
    found: set[str] = set()
    for row in results.get("table", {}).values():
        for run in row.get("runs", []):
            for per in run.get("ap", {}).values():
                found.update(per)
    return sorted(found, key=float) or ["0.3", "0.5"]


def _values(runs: list[dict], protocol: str, thr: str) -> list[float]:
    return [100 * r["ap"][protocol][thr] for r in runs
            if r.get("ap", {}).get(protocol, {}).get(thr) is not None]


def _fmt(values: list[float]) -> str:
    if not values:
        return NOT_RUN
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{np.mean(values):.1f} ± {np.std(values, ddof=1):.1f}"


def _table_md(results: dict, thresholds: list[str], only_run: bool | None = None) -> list[str]:
    """``only_run``: list rows that were run only (default: the results' meta says)."""
    table = results.get("table", {})
    if only_run is None:
        only_run = bool(results.get("meta", {}).get("only_run_rows"))
    head = ["method", "supervision", "seeds"] + [
        f"{'authors' if p == 'voc07' else 'COCO'} AP@{t}" for p in PROTOCOLS for t in thresholds]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    keys = list(TABLE_ROWS) + [k for k in table if k not in TABLE_ROWS]
    for key in keys:
        label, supervision = TABLE_ROWS.get(key, (key, ""))
        runs = table.get(key, {}).get("runs", [])
        if not runs and (key in ABLATION_ROWS or only_run):
            continue                            # optional extras are listed only when run
        cells = [_fmt(_values(runs, p, t)) for p in PROTOCOLS for t in thresholds]
        seeds = (", ".join("-" if r.get("seed") is None else str(r["seed"]) for r in runs)
                 if runs else NOT_RUN)
        lines.append("| " + " | ".join([label, supervision, seeds] + cells) + " |")
    return lines


def _size_table_md(part: dict, thresholds: list[str]) -> list[str]:
    """Authors' AP per object-size bin (COCO's areas) for every row that has it."""
    table = part.get("table", {})
    bins: list[str] = []
    for row in table.values():
        for run in row.get("runs", []):
            for b in (run.get("ap_by_size") or {}).get("voc07", {}):
                if b not in bins:
                    bins.append(b)
    if not bins:
        return [f"_{NOT_RUN}_"]
    counts = part.get("size_counts") or {}
    head = ["method"] + [f"{b}{' (' + str(counts[b]) + ' objects)' if b in counts else ''} AP@{t}"
                         for b in bins for t in thresholds]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in list(TABLE_ROWS) + [k for k in table if k not in TABLE_ROWS]:
        runs = table.get(key, {}).get("runs", [])
        if not any(r.get("ap_by_size") for r in runs):
            continue
        cells = []
        for b in bins:
            for t in thresholds:
                vals = [100 * v for r in runs
                        if (v := (r.get("ap_by_size") or {}).get("voc07", {}).get(b, {}).get(t)) is not None
                        and math.isfinite(v)]
                cells.append(_fmt(vals) if vals else "-")
        lines.append("| " + " | ".join([_label(key)] + cells) + " |")
    return lines


OB_COLUMNS = (("overlap_p", "Overlap P"), ("overlap_r", "Overlap R"), ("overlap_f", "Overlap F"),
              ("boundary_p", "Boundary P"), ("boundary_r", "Boundary R"), ("boundary_f", "Boundary F"),
              ("f_at_075", "F@.75"))


def _overlap_boundary_md(part: dict) -> list[str]:
    """Overlap/Boundary P/R/F and F@.75 (%) for every row that has them."""
    table = part.get("table", {})
    rows = [k for k in list(TABLE_ROWS) + [k for k in table if k not in TABLE_ROWS]
            if any(r.get("overlap_boundary") for r in table.get(k, {}).get("runs", []))]
    if not rows:
        return [f"_{NOT_RUN}_"]
    lines = ["| method | " + " | ".join(name for _, name in OB_COLUMNS) + " |",
             "|" + "---|" * (len(OB_COLUMNS) + 1)]
    for key in rows:
        runs = [r for r in table[key]["runs"] if r.get("overlap_boundary")]
        cells = [_fmt([100 * r["overlap_boundary"][k] for r in runs]) for k, _ in OB_COLUMNS]
        lines.append("| " + " | ".join([_label(key)] + cells) + " |")
    return lines


def _generalisation(results: dict, thresholds: list[str]):
    part = results.get("generalisation") or {}
    cells = part.get("cells") or {}
    lines = []
    if not cells:
        return [f"_{NOT_RUN}_"], {}
    lines.append(f"Method: {_label(part.get('row', '?'))}. Rows: objects; columns: backgrounds.")
    for protocol in PROTOCOLS:
        for thr in thresholds:
            lines += ["", f"{'Authors' if protocol == 'voc07' else 'COCO'} AP@{thr}:", "",
                      "| objects \\ backgrounds | train | test |", "|---|---|---|"]
            for obj in ("train", "test"):
                row = [_fmt(_values(cells.get(f"{obj}_objects/{bg}_backgrounds", {}).get("runs", []),
                                    protocol, thr)) for bg in ("train", "test")]
                lines.append(f"| {obj} | {row[0]} | {row[1]} |")
    drops: dict = {}
    base = {r.get("seed"): r for r in cells.get("train_objects/train_backgrounds", {}).get("runs", [])}
    for thr in thresholds:
        for scenario, cell in _DROPS.items():
            paired = [100 * (base[r.get("seed")]["ap"]["voc07"][thr] - r["ap"]["voc07"][thr])
                      for r in cells.get(cell, {}).get("runs", []) if r.get("seed") in base]
            if paired:
                drops.setdefault(thr, {})[scenario] = (
                    float(np.mean(paired)), float(np.std(paired, ddof=1)) if len(paired) > 1 else 0.0)
    return lines, drops


# ------------------------------------------------------------------ the report

def write_report(results: dict, out_dir: str | Path, report_cfg,
                 base_dir: str | Path | None = None) -> Path:
    """Render ``results`` into ``out_dir``/report.md and PNG figures; returns report.md's path.

    ``report_cfg`` is the ``evaluation.report`` config section;
    ``base_dir`` resolves relative qualitative image paths (default: ``out_dir``).
    """
    if not isinstance(results, dict):
        raise ValueError("results must be a dict (see the evaluation.report docstring)")
    rcfg = report_cfg
    dpi = int(rcfg.dpi)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base_dir = Path(base_dir) if base_dir is not None else out_dir
    meta = results.get("meta", {})
    thresholds = _thresholds(results)
    table = results.get("table", {})
    md = [f"# {meta.get('title', 'Learning instance segmentation by interaction: arena study')}", ""]
    if meta.get("date") or meta.get("command"):
        md += [f"Produced {meta.get('date', '(date not recorded)')} by `{meta.get('command', '?')}`"
               f"{' (preset ' + meta['preset'] + ')' if meta.get('preset') else ''}.", ""]
    if meta.get("eval_set"):
        md += [f"Evaluation set: {meta['eval_set']}.", ""]
    md += ["## Table 1 analogue: class-agnostic mask AP (%)", "",
           "Two protocols: **authors'** = prediction is a TP when its best IoU with a still "
           "unmatched ground-truth mask is strictly above t, VOC07 11-point AP; **COCO** = "
           "pycocotools COCOeval (useCats=0, IoU >= t, 101-point). Mean ± std over seeds.", ""]
    md += _table_md(results, thresholds) + [""]
    md += ["### Per object size (authors' AP, %; COCO's areas: small < 32², medium < 96², large "
           "above; objects of other sizes ignored)", ""]
    md += _size_table_md(results, thresholds) + [""]
    md += ["### Overlap / Boundary P/R/F and F@.75 (%; Xie et al.'s protocol, as UOIS-Net, UCN, "
           "UOAIS report them: each method's label image from its hypotheses above "
           "evaluation.overlap_boundary.min_score, Hungarian matching, per-image means)", ""]
    md += _overlap_boundary_md(results) + [""]

    for key, title, intro, figure in (
            ("out_of_arena", "Out of the arena", "A set made to differ from training on purpose",
             "ap_vs_interactions_out_of_arena.png"),
            ("environment", "The environment the robot adapted to",
             "Held-out scenes of it (other placements, other camera views)",
             "ap_vs_interactions_environment.png")):
        part = results.get(key) or {}
        if not part:
            continue
        md += [f"## {title}", "", f"{intro}: {part.get('eval_set', '?')}.", ""]
        md += _table_md(part, thresholds, only_run=bool(meta.get("only_run_rows"))) + [""]
        md += ["Per object size (authors' AP, %):", ""] + _size_table_md(part, thresholds) + [""]
        md += ["Overlap / Boundary P/R/F and F@.75 (%):", ""] + _overlap_boundary_md(part) + [""]
        if any((part.get("ap_vs_interactions") or {}).values()):
            reference = {k: [r["ap"] for r in part["table"][k].get("runs", [])]
                         for k in ("bottom_up_tuned", "bottom_up_tuned_for_set") if k in part.get("table", {})}
            figures.ap_vs_interactions(part["ap_vs_interactions"], reference,
                                       {k: _label(k) for k in TABLE_ROWS}, thresholds,
                                       out_dir / figure, dpi)
            md += [f"![AP vs interactions, {title.lower()}]({figure})", ""]

    md += ["## AP vs number of interactions", ""]
    series = results.get("ap_vs_interactions") or {}
    if any(series.values()):
        reference = {k: [r["ap"] for r in table[k].get("runs", [])]
                     for k in ("bottom_up_tuned", "gt_supervised") if k in table}
        figures.ap_vs_interactions(series, reference, {k: _label(k) for k in TABLE_ROWS},
                                   thresholds, out_dir / "ap_vs_interactions.png", dpi)
        md += ["![AP vs interactions](ap_vs_interactions.png)", ""]
    else:
        md += [f"_{NOT_RUN}_", ""]

    md += ["## Precision-recall curves", ""]
    curves = results.get("pr_curves") or {}
    if curves:
        figures.pr_curves(curves, {k: _label(k) for k in TABLE_ROWS}, thresholds,
                          out_dir / "pr_curves.png", dpi)
        md += ["![PR curves](pr_curves.png)", ""]
    else:
        md += [f"_{NOT_RUN}_", ""]

    md += ["## Recall of ground-truth objects at fixed precision vs checkpoint", ""]
    rap = results.get("recall_at_precision") or {}
    if rap.get("points"):
        figures.recall_at_precision(rap, out_dir / "recall_at_precision.png", dpi)
        md += ["![recall at precision](recall_at_precision.png)", ""]
    else:
        md += [f"_{NOT_RUN}_", ""]

    md += ["## Generalisation: train/test objects x train/test backgrounds", ""]
    gen_lines, drops = _generalisation(results, thresholds)
    md += gen_lines + [""]
    if drops:
        figures.generalisation(drops, thresholds, out_dir / "generalisation.png", dpi)
        md += ["AP drop from train objects on train backgrounds (authors' protocol, "
               "paired by seed; lower is better):", "",
               "![generalisation](generalisation.png)", ""]

    md += ["## Qualitative examples (image, ground truth, methods' top hypotheses)", ""]
    qual = results.get("qualitative") or {}
    if qual.get("examples"):
        figures.qualitative_grid(qual, base_dir, int(rcfg.qualitative_top_k),
                                 float(rcfg.qualitative_min_score),
                                 out_dir / "qualitative.png", dpi)
        md += ["![qualitative](qualitative.png)", ""]
    else:
        md += [f"_{NOT_RUN}_", ""]

    md += ["## Wall clock", ""]
    wall = meta.get("wall_clock_s") or {}
    if wall:
        md += ["| step | seconds |", "|---|---|"]
        steps = {k: v for k, v in wall.items() if k != "total"}
        md += [f"| {k} | {float(v):.1f} |" for k, v in steps.items()]
        total = wall.get("total", sum(float(v) for v in steps.values()))  # a runner may time it whole
        md += [f"| **total** | {float(total):.1f} |", ""]
    else:
        md += [f"_{NOT_RUN}_", ""]
    for note in meta.get("notes", []):
        md += [f"- {note}"]
    md += ["", "## Configuration", ""]
    if meta.get("config"):
        md += ["```yaml", yaml.safe_dump(meta["config"], sort_keys=False).rstrip(), "```", ""]
    else:
        md += ["_not recorded_", ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(md))
    return report
