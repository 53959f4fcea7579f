"""AP of checkpoints and of the bottom-up baselines on an evaluation set."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from seg_by_interaction.evaluation.bottom_up import BottomUpSegmenter
from seg_by_interaction.evaluation.eval_set import EvalSet
from seg_by_interaction.evaluation.evaluator import MethodEvaluation, evaluate_segmenter
from seg_by_interaction.perception.inference import load_segmenter
from seg_by_interaction.perception.checkpoint import read_checkpoint


def evaluate_checkpoint(checkpoint: Optional[str], cfg: dict, eval_set: EvalSet,
                        desc: str = "model", progress: bool = True) -> MethodEvaluation:
    segmenter = load_segmenter(checkpoint, cfg, device=cfg.device)
    return evaluate_segmenter(lambda img: segmenter.segment(img), eval_set, cfg, desc, progress)


@dataclass(frozen=True)
class EvalTask:
    """One evaluation for a pool: a checkpoint (``None`` = the preset's initial weights) or,
    with ``bottom_up`` set, a bottom-up baseline (``"plain"`` or ``"tuned"``), on one set."""
    cfg: Any
    eval_json: str
    desc: str
    checkpoint: Optional[str] = None
    bottom_up: Optional[str] = None

    def run(self, progress: bool = False) -> MethodEvaluation:
        eval_set = EvalSet.load(self.eval_json)
        if self.bottom_up is not None:
            return evaluate_bottom_up(self.cfg, eval_set, self.bottom_up == "tuned", progress)
        return evaluate_checkpoint(self.checkpoint, self.cfg, eval_set, self.desc, progress)


def _run_task(task: EvalTask) -> MethodEvaluation:
    return task.run()


def evaluate_tasks(tasks: list[EvalTask], jobs: int = 1, progress: bool = True) -> list[MethodEvaluation]:
    """Every task, ``jobs`` processes side by side (inference and Felzenszwalb run one thread
    per process: two processes use two cores), results in the tasks' order."""
    if jobs <= 1 or len(tasks) <= 1:
        return [t.run(progress) for t in tasks]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(tqdm(pool.map(_run_task, tasks), total=len(tasks), disable=not progress,
                         desc=f"evaluating ({jobs} processes)"))


def evaluate_bottom_up(cfg: dict, eval_set: EvalSet, tuned: bool,
                       progress: bool = True) -> MethodEvaluation:
    seg = BottomUpSegmenter(cfg, tuned=tuned)
    return evaluate_segmenter(seg.segment, eval_set, cfg,
                              "bottom-up tuned" if tuned else "bottom-up", progress)


def bottom_up_rows(cfg: dict, tuned_area_fraction: Optional[float] = None) -> list[tuple[str, bool, Any]]:
    """(row, tuned, config) of the bottom-up baselines. ``tuned_area_fraction``: a third row,
    the tuned baseline with this largest-proposal filter (a set whose objects are larger than
    the arena's)."""
    from seg_by_interaction.config import with_overrides
    rows = [("bottom_up", False, cfg), ("bottom_up_tuned", True, cfg)]
    if tuned_area_fraction is not None:
        rows.append(("bottom_up_tuned_for_set", True, with_overrides(
            cfg, {"evaluation.bottom_up.tuned.max_area_fraction": float(tuned_area_fraction)})))
    return rows


def bottom_up_tasks(cfg: dict, eval_json: str | Path,
                    tuned_area_fraction: Optional[float] = None) -> list[tuple[str, EvalTask]]:
    """(row, task) of each bottom_up_rows row on one set, for evaluate_tasks' pool."""
    return [(key, EvalTask(row_cfg, str(eval_json), key, bottom_up="tuned" if tuned else "plain"))
            for key, tuned, row_cfg in bottom_up_rows(cfg, tuned_area_fraction)]


def put_bottom_up_rows(results: dict, rows: dict, thresholds) -> None:
    """{row: MethodEvaluation} into ``results`` (table + PR curves)."""
    from seg_by_interaction.evaluation.report import curve_entry, run_entry
    for key, ev in rows.items():
        results["table"][key] = {"runs": [run_entry(ev, None)]}
        results.setdefault("pr_curves", {})[key] = curve_entry(ev, thresholds)


def add_bottom_up_rows(results: dict, cfg: dict, eval_set: EvalSet, thresholds,
                       progress: bool = True, tuned_area_fraction: Optional[float] = None) -> dict:
    """Evaluate the bottom-up baselines here, one after the other, into ``results``; returns
    {row: MethodEvaluation} for the qualitative grid."""
    evaluations = {key: evaluate_bottom_up(row_cfg, eval_set, tuned, progress)
                   for key, tuned, row_cfg in bottom_up_rows(cfg, tuned_area_fraction)}
    put_bottom_up_rows(results, evaluations, thresholds)
    return evaluations


def checkpoint_progress(path: str | Path) -> dict:
    """What a numbered checkpoint had seen: version, examples, interactions."""
    extra = read_checkpoint(path)["state"].get("extra", {})
    return {"version": int(extra.get("version", 0)),
            "examples_seen": int(extra.get("examples_seen", 0)),
            "interactions_seen": int(extra.get("interactions_seen", 0))}
