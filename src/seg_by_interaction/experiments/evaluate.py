"""Evaluation sets on disk (generated once, reused) and AP of checkpoints and baselines."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from seg_by_interaction.evaluation.bottom_up import BottomUpSegmenter
from seg_by_interaction.evaluation.eval_set import EvalSet
from seg_by_interaction.evaluation.evaluator import MethodEvaluation, evaluate_segmenter
from seg_by_interaction.perception.inference import load_segmenter
from seg_by_interaction.perception.checkpoint import read_checkpoint


def ensure_eval_set(root: str | Path, cfg: dict, split: str = "test",
                    object_split: Optional[str] = None, seed: int = 0,
                    num_backgrounds: Optional[int] = None,
                    images_per_background: Optional[int] = None) -> Path:
    """The COCO json of this evaluation set, rendering it only if it is not there yet.

    The folder name encodes every parameter, so different sets never overwrite each other.
    """
    from seg_by_interaction.sim.datasets import generate_eval_set
    object_split = object_split or split
    name = (f"{split}_bg-{object_split}_obj_seed{seed}"
            f"_nb{num_backgrounds or 'all'}_ipb{images_per_background or 'cfg'}")
    out = Path(root) / name
    marker = out / "annotations.json"
    params = {"split": split, "object_split": object_split, "seed": seed,
              "num_backgrounds": num_backgrounds, "images_per_background": images_per_background,
              "library_seed": cfg["arena"]["library_seed"]}
    stamp = out / "params.json"
    if marker.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == params:
        return marker
    path = generate_eval_set(out, cfg, split=split, seed=seed, num_backgrounds=num_backgrounds,
                             images_per_background=images_per_background,
                             object_split=object_split)
    stamp.write_text(json.dumps(params))
    return path


def evaluate_checkpoint(checkpoint: Optional[str], cfg: dict, eval_set: EvalSet,
                        desc: str = "model", progress: bool = True) -> MethodEvaluation:
    segmenter = load_segmenter(checkpoint, cfg, device=cfg["device"])
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


def size_counts(eval_set: EvalSet, bins: dict) -> dict:
    """Ground-truth objects per size bin (frame px areas)."""
    from pycocotools import mask as mask_utils
    areas = [float(a) for im in eval_set.images for a in (mask_utils.area(im.gt_rles) if im.gt_rles else [])]
    return {b: int(sum(float(lo) <= a < float(hi) for a in areas)) for b, (lo, hi) in bins.items()}


def ensure_out_of_arena_set(root: str | Path, cfg: dict, object_split: Optional[str] = None,
                            seed: Optional[int] = None) -> Path:
    """The out-of-arena set's COCO json (evaluation.out_of_arena), rendered once per settings.
    ``object_split``/``seed`` override the section's (the ablations' val-object twin)."""
    import hashlib
    from seg_by_interaction.config import with_overrides
    from seg_by_interaction.sim.datasets import generate_out_of_arena_set
    if object_split is not None or seed is not None:
        cfg = with_overrides(cfg, {k: v for k, v in (
            ("evaluation.out_of_arena.object_split", object_split),
            ("evaluation.out_of_arena.seed", seed)) if v is not None})
    ocfg = cfg["evaluation"]["out_of_arena"]
    params = {"out_of_arena": ocfg, "train_cameras": cfg["arena"]["cameras"]["vary"],
              "library_seed": cfg["arena"]["library_seed"], "assets": cfg["arena"]["assets"]["meshes"]}
    key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:10]
    out = Path(root) / (f"out_of_arena_{ocfg['object_split']}_{ocfg['images']}img_seed{ocfg['seed']}"
                        f"_{key}")
    marker, stamp = out / "annotations.json", out / "params.json"
    if marker.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == json.loads(
            json.dumps(params, default=str)):
        return marker
    path = generate_out_of_arena_set(out, cfg)
    stamp.write_text(json.dumps(params, default=str))
    return path


def checkpoint_progress(path: str | Path) -> dict:
    """What a numbered checkpoint had seen: version, examples, interactions."""
    extra = read_checkpoint(path)["state"].get("extra", {})
    return {"version": int(extra.get("version", 0)),
            "examples_seen": int(extra.get("examples_seen", 0)),
            "interactions_seen": int(extra.get("interactions_seen", 0))}
