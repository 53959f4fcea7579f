"""AP of checkpoints and of the bottom-up baselines on an evaluation set."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from seg_by_interaction.evaluation.bottom_up import BottomUpSegmenter
from seg_by_interaction.evaluation.eval_set import EvalSet
from seg_by_interaction.evaluation.evaluator import MethodEvaluation, evaluate_segmenter
from seg_by_interaction.perception.inference import load_segmenter
from seg_by_interaction.perception.checkpoint import read_checkpoint


def evaluate_checkpoint(checkpoint: Optional[str], cfg: dict, eval_set: EvalSet,
                        desc: str = "model", progress: bool = True) -> MethodEvaluation:
    segmenter = load_segmenter(checkpoint, cfg, device=cfg.device)
    return evaluate_segmenter(lambda img: segmenter.segment(img), eval_set, cfg, desc, progress)


def _evaluate_task(task: tuple) -> MethodEvaluation:
    checkpoint, cfg, eval_json, desc = task
    return evaluate_checkpoint(checkpoint, cfg, EvalSet.load(eval_json), desc, progress=False)


def evaluate_checkpoints(tasks: list[tuple], jobs: int = 1, progress: bool = True) -> list[MethodEvaluation]:
    """Several (checkpoint, cfg, eval_json, desc) evaluations, ``jobs`` processes side by
    side (inference runs one thread per process: two processes use two cores)."""
    if jobs <= 1 or len(tasks) <= 1:
        return [evaluate_checkpoint(c, cfg, EvalSet.load(j), d, progress) for c, cfg, j, d in tasks]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(tqdm(pool.map(_evaluate_task, tasks), total=len(tasks), disable=not progress,
                         desc=f"evaluating ({jobs} processes)"))


def evaluate_bottom_up(cfg: dict, eval_set: EvalSet, tuned: bool,
                       progress: bool = True) -> MethodEvaluation:
    seg = BottomUpSegmenter(cfg, tuned=tuned)
    return evaluate_segmenter(seg.segment, eval_set, cfg,
                              "bottom-up tuned" if tuned else "bottom-up", progress)


def add_bottom_up_rows(results: dict, cfg: dict, eval_set: EvalSet, thresholds,
                       progress: bool = True, tuned_area_fraction: Optional[float] = None) -> dict:
    """Evaluate both bottom-up baselines into ``results`` (table + PR curves); returns
    {row: MethodEvaluation} for the qualitative grid. ``tuned_area_fraction``: a third row,
    the tuned baseline with this largest-proposal filter (a set whose objects are larger
    than the arena's)."""
    from seg_by_interaction.config import with_overrides
    from seg_by_interaction.evaluation.report import curve_entry, run_entry
    evaluations = {}
    rows = [("bottom_up", False, cfg), ("bottom_up_tuned", True, cfg)]
    if tuned_area_fraction is not None:
        rows.append(("bottom_up_tuned_for_set", True, with_overrides(
            cfg, {"evaluation.bottom_up.tuned.max_area_fraction": float(tuned_area_fraction)})))
    for key, tuned, row_cfg in rows:
        ev = evaluate_bottom_up(row_cfg, eval_set, tuned, progress)
        results["table"][key] = {"runs": [run_entry(ev, None)]}
        results.setdefault("pr_curves", {})[key] = curve_entry(ev, thresholds)
        evaluations[key] = ev
    return evaluations


def checkpoint_progress(path: str | Path) -> dict:
    """What a numbered checkpoint had seen: version, examples, interactions."""
    extra = read_checkpoint(path)["state"].get("extra", {})
    return {"version": int(extra.get("version", 0)),
            "examples_seen": int(extra.get("examples_seen", 0)),
            "interactions_seen": int(extra.get("interactions_seen", 0))}
