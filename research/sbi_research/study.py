"""The whole study (issue "evaluation"): every method of the paper's Table 1 on the
arena's held-out test set, several seeds, AP vs interactions, recall of the robot's
own hypotheses, the 2x2 generalisation analysis, a qualitative grid -> report.md.

Budgets (config ``study.budgets``): ``cpu`` finishes in a few hours on 2 cores,
``tiny`` in a minute or two for tests. Data collection is active, so every learned
self-supervised row collects its own interactions with its own model, as in the paper.
"""
from __future__ import annotations

import time
from pathlib import Path

from seg_by_interaction.config import with_overrides
from seg_by_interaction.data.store import DatasetStore
from seg_by_interaction.evaluation.eval_set import EvalSet
from seg_by_interaction.evaluation.report import (GENERALISATION_CELLS, curve_entry,
                                                  run_entry, save_results, write_report)
from seg_by_interaction.evaluation.checkpoints import (add_bottom_up_rows, checkpoint_progress,
                                                       evaluate_checkpoint)
from seg_by_interaction.evaluation.sets import ensure_eval_set
from sbi_research.ground_truth import collect_ground_truth, ground_truth_complete
from sbi_research.local_loop import run_session
from seg_by_interaction.evaluation.run_report import pick_checkpoints, qualitative_rows
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.training.online import checkpoint_path, list_checkpoints
from seg_by_interaction.training.trainer import Trainer

SELF_SUPERVISED_ROWS = {  # row: (loss mode, uses ground-truth examples)
    "self_sup_rsl": ("rsl", False),
    "self_sup_ce": ("ce", False),
    "self_sup_human": ("rsl", True),
}


def _seeded(cfg, seed: int):
    return with_overrides(cfg, {"seed": int(seed)})


def _recall_point(evaluation, info: dict, seed: int, ecfg: dict) -> dict:
    """Recall of GT objects by the model's hypotheses at fixed precision (paper Fig. 3b)."""
    return {"interactions": info["interactions_seen"], "seed": seed,
            "recall": evaluation.recall_at_precision(float(ecfg.recall_iou_threshold),
                                                     ecfg.recall_precision_levels)}


def _gt_scenes(cfg: dict, arena_seed: int, data_dir: Path, scenes: int, progress: bool) -> None:
    store = DatasetStore(data_dir / "store", cfg)
    if not ground_truth_complete(store):
        with Arena(cfg, seed=arena_seed + 1000, split="train") as arena:
            collect_ground_truth(store, arena, cfg, scenes, seed=arena_seed, progress=progress)
    store.close()


def train_gt_supervised(cfg: dict, data_dir: Path, scenes: int, steps: int, seed: int,
                        progress: bool) -> str:
    """The oracle row: the same network and step budget on the renderer's masks."""
    path = checkpoint_path(data_dir / "checkpoints", 1)
    if path.is_file():
        return str(path)
    _gt_scenes(cfg, seed, data_dir, scenes, progress)
    store = DatasetStore(data_dir / "store", cfg)
    trainer = Trainer(cfg, source=store.source(sources=["ground_truth"]), device=cfg.device,
                      mode="gt", metrics_path=data_dir / "training_metrics.jsonl")
    trainer.train_steps(steps, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    trainer.save(path, extra={"version": 1, "examples_seen": len(store),
                              "interactions_seen": 0})
    store.close()
    return str(path)


def _interactions_done(run_dir: Path) -> int:
    counter = run_dir / "robot0.next_interaction"
    return int(counter.read_text()) if counter.is_file() else 0


def _run_done(run_dir: Path, interactions: int) -> bool:
    return len(list_checkpoints(run_dir / "checkpoints")) > 0 and \
        _interactions_done(run_dir) >= interactions


def _continue_run(cfg: dict, run_dir: Path, interactions: int, seed: int, mode: str,
                  progress: bool, human_fraction: float) -> None:
    """Bring a (possibly interrupted) run up to ``interactions`` interactions in total."""
    remaining = interactions - _interactions_done(run_dir)
    if remaining > 0 or not list_checkpoints(run_dir / "checkpoints"):
        run_session(cfg, run_dir, max(remaining, 0), seed=seed, mode=mode, progress=progress,
                    human_fraction=human_fraction)


def within_budget(found: list[tuple[int, Path]], interactions: int) -> list[tuple[int, Path]]:
    """The checkpoints trained on at most ``interactions`` interactions: a run that went
    past its budget (an interrupted run resumed with a larger one) is judged at the budget."""
    return [(v, p) for v, p in found if checkpoint_progress(p)["interactions_seen"] <= interactions]


def _collect(task: dict) -> str:
    """One learned row's data collection and online training (a worker process)."""
    run_dir = Path(task["run_dir"])
    if task["human_scenes"]:
        _gt_scenes(task["cfg"], task["seed"], run_dir, task["human_scenes"], False)
    if not _run_done(run_dir, task["interactions"]):
        _continue_run(task["cfg"], run_dir, task["interactions"], task["seed"], task["mode"],
                      False, task["human_fraction"])
    return run_dir.name


def _collect_parallel(tasks: list[dict], jobs: int) -> None:
    """Learned runs are independent: ``jobs`` processes run them side by side (each
    with torch_threads threads), so 2 cores do two runs at once."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm
    todo = [t for t in tasks if not _run_done(Path(t["run_dir"]), t["interactions"])]
    if not todo:
        return
    with ProcessPoolExecutor(max_workers=jobs,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_collect, t) for t in todo]
        for f in tqdm(as_completed(futures), total=len(futures), desc=f"learned runs ({jobs} jobs)"):
            f.result()


def run_study(cfg: dict, out: str | Path, budget: str = "cpu", seeds: int | None = None,
              command: str = "", progress: bool = True, jobs: int = 1) -> Path:
    if budget not in cfg.study.budgets:
        raise ValueError(f"unknown budget '{budget}' (known: {', '.join(cfg['study']['budgets'])})")
    overrides = cfg.study.budgets[budget].get("overrides") or {}
    if overrides:  # a budget may shrink the rest of the configuration (tests: tiny)
        cfg = with_overrides(cfg, overrides, where=f"study budget {budget}'s overrides")
    sc = cfg.study
    b = sc.budgets[budget]
    n_seeds = int(seeds or b["seeds"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clock: dict[str, float] = {}
    t_all = time.perf_counter()
    thresholds = [float(t) for t in cfg.evaluation.iou_thresholds]
    ecfg = cfg.evaluation

    t0 = time.perf_counter()
    test_json = ensure_eval_set(out / "eval_sets", cfg, "test", seed=int(sc.eval_seed),
                                num_backgrounds=b["eval_backgrounds"],
                                images_per_background=b["eval_per_background"])
    test_set = EvalSet.load(test_json)
    general_sets = {cell: EvalSet.load(ensure_eval_set(
        out / "eval_sets", cfg, split=bgs, object_split=objs, seed=int(sc.eval_seed) + 1,
        num_backgrounds=b["general_backgrounds"],
        images_per_background=b["general_per_background"]))
        for cell, (objs, bgs) in GENERALISATION_CELLS.items()}
    clock["evaluation sets"] = time.perf_counter() - t0

    results: dict = {
        "meta": {"title": f"seg_by_interaction study ({budget} budget)", "command": command,
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "preset": cfg.preset, "config": cfg.model_dump(),
                 "eval_set": f"{test_json} ({len(test_set)} images)",
                 "notes": [f"{b['interactions']} interactions per learned run, {n_seeds} seed(s).",
                           "Ground truth comes from the renderer; self-supervised rows never see it.",
                           "voc07 = the authors' protocol (TP iff IoU > t with a still-unmatched "
                           "GT, 11-point AP); coco = pycocotools (useCats=0, TP iff IoU >= t)."]},
        "table": {}, "ap_vs_interactions": {}, "pr_curves": {}}

    t0 = time.perf_counter()
    evaluations = add_bottom_up_rows(results, cfg, test_set, thresholds, progress)
    clock["bottom-up baselines"] = time.perf_counter() - t0

    if jobs > 1:
        t0 = time.perf_counter()
        _collect_parallel([{"cfg": _seeded(cfg, seed), "seed": seed, "mode": mode,
                            "run_dir": str(out / "runs" / f"{row}_seed{seed}"),
                            "interactions": int(b["interactions"]),
                            "human_scenes": int(b["human_scenes"]) if human else 0,
                            "human_fraction": float(sc.human_fraction) if human else 0.0}
                           for seed in range(n_seeds)
                           for row, (mode, human) in SELF_SUPERVISED_ROWS.items()], jobs)
        clock[f"learned runs ({jobs} parallel jobs)"] = time.perf_counter() - t0

    recall_points, general_runs = [], {cell: [] for cell in GENERALISATION_CELLS}
    for seed in range(n_seeds):
        scfg = _seeded(cfg, seed)
        for row, (mode, human) in SELF_SUPERVISED_ROWS.items():
            t0 = time.perf_counter()
            run_dir = out / "runs" / f"{row}_seed{seed}"
            if human:
                _gt_scenes(scfg, seed, run_dir, int(b["human_scenes"]), progress)
            if not _run_done(run_dir, int(b["interactions"])):
                _continue_run(scfg, run_dir, int(b["interactions"]), seed, mode, progress,
                              float(sc.human_fraction) if human else 0.0)
            clock[f"{row} seed {seed}: interactions"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            found = within_budget(list_checkpoints(run_dir / "checkpoints"), int(b["interactions"]))
            if not found:
                continue
            final = evaluate_checkpoint(str(found[-1][1]), scfg, test_set, f"{row} s{seed}",
                                        progress)
            results["table"].setdefault(row, {"runs": []})["runs"].append(run_entry(final, seed))
            if seed == 0:
                results["pr_curves"][row] = curve_entry(final, thresholds)
                evaluations[row] = final
            if row == "self_sup_rsl":
                curve = results["ap_vs_interactions"].setdefault(row, [])
                for version, path in pick_checkpoints(found[:-1], int(b["curve_checkpoints"]) - 1):
                    ev = evaluate_checkpoint(str(path), scfg, test_set, f"v{version}", progress)
                    info = checkpoint_progress(path)
                    curve.append({"interactions": info["interactions_seen"], "seed": seed,
                                  "ap": run_entry(ev, seed)["ap"]})
                    recall_points.append(_recall_point(ev, info, seed, ecfg))
                info = checkpoint_progress(found[-1][1])
                curve.append({"interactions": info["interactions_seen"], "seed": seed,
                              "ap": run_entry(final, seed)["ap"]})
                recall_points.append(_recall_point(final, info, seed, ecfg))
                for cell, eset in general_sets.items():
                    ev = evaluate_checkpoint(str(found[-1][1]), scfg, eset, cell, progress)
                    general_runs[cell].append(run_entry(ev, seed))
            clock[f"{row} seed {seed}: evaluation"] = time.perf_counter() - t0
        # the oracle: same network, the step budget of the RSL run, renderer masks
        t0 = time.perf_counter()
        steps = int(scfg.training.pretrain_steps) + int(scfg.training.steps_per_update) \
            * max(len(within_budget(list_checkpoints(out / "runs" / f"self_sup_rsl_seed{seed}" / "checkpoints"),
                                    int(b["interactions"]))) - 1, 1)
        gt_ckpt = train_gt_supervised(scfg, out / "runs" / f"gt_supervised_seed{seed}",
                                      int(b["gt_scenes"]), steps, seed, progress)
        ev = evaluate_checkpoint(gt_ckpt, scfg, test_set, f"gt-supervised s{seed}", progress)
        results["table"].setdefault("gt_supervised", {"runs": []})["runs"].append(run_entry(ev, seed))
        if seed == 0:
            results["pr_curves"]["gt_supervised"] = curve_entry(ev, thresholds)
            evaluations["gt_supervised"] = ev
        clock[f"gt_supervised seed {seed}"] = time.perf_counter() - t0

    if recall_points:
        results["recall_at_precision"] = {
            "iou_threshold": float(ecfg.recall_iou_threshold),
            "precision_levels": list(ecfg.recall_precision_levels), "points": recall_points}
    if any(general_runs.values()):
        results["generalisation"] = {"row": "self_sup_rsl",
                                     "cells": {c: {"runs": r} for c, r in general_runs.items() if r}}
    names = {"bottom_up_tuned": "bottom-up tuned", "gt_supervised": "GT-supervised",
             "self_sup_rsl": "ours (RSL)"}
    shown = {names[k]: evaluations[k] for k in names if k in evaluations}
    results["qualitative"] = {"columns": list(shown),
                              "examples": qualitative_rows(test_set, shown,
                                                           int(ecfg.report.qualitative_rows),
                                                           int(ecfg.report.qualitative_top_k))}
    clock["total"] = time.perf_counter() - t_all
    results["meta"]["wall_clock_s"] = clock
    save_results(results, out / "results.json")
    return write_report(results, out, ecfg.report, base_dir=out)
