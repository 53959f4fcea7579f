"""The main job's report: evaluate one interaction run (its numbered checkpoints) and the
bottom-up baselines on a held-out set, then write report.md + figures.

This is what ``scripts/run_loop.sh`` runs after the ROS loop; the multi-seed,
multi-method study (``python -m sbi_research study``) and writes the same kind of report.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np

from seg_by_interaction.config import with_overrides
from seg_by_interaction.evaluation.eval_set import EvalSet
from seg_by_interaction.evaluation.metrics import decode_masks
from seg_by_interaction.evaluation.report import (curve_entry, qualitative_example,
                                                  run_entry, save_results, write_report)
from seg_by_interaction.evaluation.checkpoints import (EvalTask, bottom_up_tasks, checkpoint_progress,
                                                       evaluate_tasks, put_bottom_up_rows)
from seg_by_interaction.evaluation.sets import size_counts
from seg_by_interaction.training.online import list_checkpoints
from seg_by_interaction.runtime import compute_dtype


def pick_checkpoints(found: list[tuple[int, Path]], count: int) -> list[tuple[int, Path]]:
    """``count`` checkpoints spread evenly over the run, always including the last."""
    if len(found) <= count:
        return found
    idx = np.unique(np.linspace(0, len(found) - 1, count).round().astype(int))
    return [found[i] for i in idx]


def qualitative_rows(eval_set: EvalSet, evaluations: dict, count: int, top_k: int) -> list[dict]:
    rows = []
    for i in np.linspace(0, len(eval_set) - 1, min(count, len(eval_set))).round().astype(int):
        image = eval_set.images[int(i)]
        methods = {name: ev.predictions(int(i)) for name, ev in evaluations.items()}
        gt = decode_masks(image.gt_rles, image.height, image.width)
        rows.append(qualitative_example(image.path, gt, methods, top_k))
    return rows


def arithmetic_note(cfg) -> str:
    """What ``auto`` resolved to on this machine: the same preset computes in bfloat16 on a CPU
    that has it natively and in float32 elsewhere (runtime.compute_dtype)."""
    def name(precision):
        return str(compute_dtype(precision, cfg.device)).replace("torch.", "")
    return (f"Network arithmetic on this machine: {name(cfg.inference.precision)} in segmentation "
            f"and evaluation (inference.precision: {cfg.inference.precision}), "
            f"{name(cfg.training.precision)} in training (training.precision: "
            f"{cfg.training.precision}); weights, scores and masks are float32.")


def run_report(data_dir: str | Path, eval_json: str | Path, cfg: dict, out_dir: str | Path,
                seed: int = 0, checkpoints: int = 5, command: str = "",
                wall_clock: Optional[dict] = None, progress: bool = True,
                ooa_json: Optional[str | Path] = None, env_json: Optional[str | Path] = None) -> Path:
    """``ooa_json``: the out-of-arena set; ``env_json``: held-out scenes of the environment the
    run adapted to (``environment``); each scored beside the test split at every checkpoint."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    eval_set = EvalSet.load(eval_json)   # before any folder is made: a bad path leaves nothing
    extra_sets = {key: (Path(js), EvalSet.load(js)) for key, js in
                  (("out_of_arena", ooa_json), ("environment", env_json)) if js}
    out_dir.mkdir(parents=True, exist_ok=True)
    thresholds = [float(t) for t in cfg.evaluation.iou_thresholds]
    rcfg = cfg.evaluation
    clock = dict(wall_clock or {})
    t0 = time.perf_counter()
    results: dict = {"meta": {
        "title": "seg_by_interaction: one interaction run in the simulated arena",
        "command": command, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "preset": cfg.preset, "eval_set": f"{eval_json} ({len(eval_set)} images)",
        "config": cfg.model_dump(), "notes": [
            "Ground truth comes from the renderer; the learner never sees it.",
            "voc07 = the authors' protocol (TP iff IoU > t with a still-unmatched GT, "
            "VOC07 11-point AP); coco = pycocotools COCOeval (useCats=0, TP iff IoU >= t).",
            f"One run (seed {seed}); the multi-seed study is `python -m "
            "sbi_research study`.",
            arithmetic_note(cfg)]},
        "table": {}, "ap_vs_interactions": {}, "pr_curves": {}}
    rate = loop_rate(data_dir, clock.get("interaction loop"))
    if rate is not None:
        results["meta"]["notes"].append(
            f"Interaction loop: {rate[0]} interactions in {rate[1]:.0f} s = {rate[2]:.1f} per "
            "minute, trainer on, start-up included (every node through ROS).")
        results["meta"]["interactions_per_min"] = rate[2]
    bins = rcfg.size_bins
    results["size_counts"] = size_counts(eval_set, bins)
    for key, (js, extra) in extra_sets.items():
        results[key] = {"eval_set": f"{js} ({len(extra)} images)", "table": {},
                        "ap_vs_interactions": {}, "size_counts": size_counts(extra, bins)}
    found = list_checkpoints(data_dir / "checkpoints")
    chosen = pick_checkpoints(found, checkpoints)
    raw = with_overrides(cfg, {"inference.refine.enabled": False})   # the network's own mask edges
    refine_ablation = bool(chosen) and bool(cfg.inference.refine.enabled)
    # One pool for everything (models first: they take longest): (where it goes, task).
    set_jsons = {"main": str(eval_json), **{key: str(js) for key, (js, _) in extra_sets.items()}}
    models = ([(0, None)] if rcfg.report.untrained_model else []) + [(v, str(p)) for v, p in chosen]
    jobs = [(("model", key, version), EvalTask(cfg, js, f"model v{version} ({key})", checkpoint=path))
            for key, js in set_jsons.items() for version, path in models]
    if refine_ablation:
        jobs.append((("raw", "main", None), EvalTask(raw, set_jsons["main"], "no superpixel snapping",
                                                    checkpoint=str(chosen[-1][1]))))
    for key, js in set_jsons.items():
        area = rcfg.out_of_arena.bottom_up_max_area_fraction if key != "main" else None
        jobs += [(("bottom_up", key, row), task) for row, task in bottom_up_tasks(cfg, js, area)]
    done = evaluate_tasks([task for _, task in jobs], int(rcfg.report.jobs), progress)
    by_slot = {slot: ev for (slot, _), ev in zip(jobs, done)}
    evaluations = {}
    for key in set_jsons:
        rows = {row: ev for (kind, k, row), ev in by_slot.items() if kind == "bottom_up" and k == key}
        put_bottom_up_rows(results if key == "main" else results[key], rows, thresholds)
        if key == "main":
            evaluations.update(rows)
        else:
            results[key].pop("pr_curves", None)

    # each checkpoint file read once for what it had seen (it is hashed on every read)
    seen = {version: checkpoint_progress(path)["interactions_seen"] if path else 0
            for version, path in models}

    def curve_of(key: str) -> list[dict]:
        return [{"interactions": seen[version],
                 "seed": seed, "ap": run_entry(by_slot[("model", key, version)], seed)["ap"],
                 "version": version} for version, path in models]

    for key in extra_sets:
        if models:
            results[key]["ap_vs_interactions"]["self_sup_rsl"] = curve_of(key)
        if chosen:
            results[key]["table"]["self_sup_rsl"] = {
                "runs": [run_entry(by_slot[("model", key, chosen[-1][0])], seed)]}
    if models:
        results["ap_vs_interactions"]["self_sup_rsl"] = curve_of("main")
    if chosen:
        last = by_slot[("model", "main", chosen[-1][0])]
        results["table"]["self_sup_rsl"] = {"runs": [run_entry(last, seed)]}
        if refine_ablation:
            results["table"]["self_sup_rsl_no_refine"] = {
                "runs": [run_entry(by_slot[("raw", "main", None)], seed)]}
        results["pr_curves"]["self_sup_rsl"] = curve_entry(last, thresholds)
        evaluations["self_sup_rsl"] = last
        results["recall_at_precision"] = {
            "iou_threshold": float(rcfg.recall_iou_threshold),
            "precision_levels": list(rcfg.recall_precision_levels),
            "points": [{"interactions": seen[version], "seed": seed,
                        "recall": by_slot[("model", "main", version)].recall_at_precision(
                            float(rcfg.recall_iou_threshold), rcfg.recall_precision_levels)}
                       for version, _ in chosen]}
    else:
        results["meta"]["notes"].append("The run wrote no checkpoint: no learned row.")
    names = {"bottom_up_tuned": "bottom-up tuned", "self_sup_rsl": "ours (self-supervised)"}
    results["qualitative"] = {
        "columns": [names[k] for k in names if k in evaluations],
        "examples": qualitative_rows(eval_set, {names[k]: evaluations[k] for k in names
                                                if k in evaluations},
                                     int(rcfg.report.qualitative_rows),
                                     int(rcfg.report.qualitative_top_k))}
    clock["evaluation"] = time.perf_counter() - t0
    results["meta"]["wall_clock_s"] = clock
    save_results(results, out_dir / "results.json")
    return write_report(results, out_dir, rcfg.report, base_dir=out_dir)


def loop_rate(data_dir: Path, loop_seconds: Optional[float]):
    """(interactions, seconds, per minute) of the run's loop, from the robots' counters."""
    if not loop_seconds or float(loop_seconds) <= 0:
        return None
    total = 0
    for counter in Path(data_dir).glob("*.next_interaction"):
        try:
            total += int(counter.read_text().strip())
        except ValueError:
            return None
    if total == 0:
        return None
    return total, float(loop_seconds), 60.0 * total / float(loop_seconds)
