"""Held-out evaluation sets on disk: rendered once, named by their parameters, reused."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from seg_by_interaction.evaluation.eval_set import EvalSet


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
              "library_seed": cfg.arena.library_seed}
    stamp = out / "params.json"
    if marker.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == params:
        return marker
    path = generate_eval_set(out, cfg, split=split, seed=seed, num_backgrounds=num_backgrounds,
                             images_per_background=images_per_background,
                             object_split=object_split)
    stamp.write_text(json.dumps(params))
    return path


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
    ocfg = cfg.evaluation.out_of_arena
    params = {"out_of_arena": ocfg.model_dump(), "train_cameras": cfg.arena.cameras.vary.model_dump(),
              "library_seed": cfg.arena.library_seed, "assets": cfg.arena.assets.meshes.model_dump()}
    key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:10]
    out = Path(root) / (f"out_of_arena_{ocfg.object_split}_{ocfg.images}img_seed{ocfg.seed}"
                        f"_{key}")
    marker, stamp = out / "annotations.json", out / "params.json"
    if marker.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == json.loads(
            json.dumps(params, default=str)):
        return marker
    path = generate_out_of_arena_set(out, cfg)
    stamp.write_text(json.dumps(params, default=str))
    return path


def size_counts(eval_set: EvalSet, bins: dict) -> dict:
    """Ground-truth objects per size bin (frame px areas)."""
    from pycocotools import mask as mask_utils
    areas = [float(a) for im in eval_set.images for a in (mask_utils.area(im.gt_rles) if im.gt_rles else [])]
    return {b: int(sum(float(lo) <= a < float(hi) for a in areas)) for b, (lo, hi) in bins.items()}
