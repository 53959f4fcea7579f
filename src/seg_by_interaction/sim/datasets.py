"""Held-out evaluation sets rendered from the arena, in COCO format.

test = 10 test backgrounds x 20 images with test objects, val = 6 x 5 (the
paper's sizes); ``object_split`` crosses train/test objects with train/test backgrounds
(the study's generalisation sets). Each image is one camera's view of a fresh scene;
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

from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.sim.backgrounds import SPLITS


def generate_eval_set(out_dir, cfg: dict, split: str = "test", seed: int = 0,
                      num_backgrounds: Optional[int] = None, images_per_background: Optional[int] = None,
                      object_split: Optional[str] = None) -> Path:
    """Render ``split``'s backgrounds with ``object_split``'s objects; returns the COCO json path."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (use one of {SPLITS})")
    object_split = object_split or split
    if object_split not in SPLITS:
        raise ValueError(f"unknown object split {object_split!r} (use one of {SPLITS})")
    a = cfg["arena"]
    per_bg = int(images_per_background or a["eval_images_per_background"][split])
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    min_area = int(a["eval_min_area"])
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
                for obj in arena.object_ids():
                    m = gt == obj
                    area = int(m.sum())
                    if area < min_area:
                        continue
                    rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
                    x, y, w, h = (float(v) for v in mask_utils.toBbox(rle))
                    annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                        "segmentation": {"size": list(rle["size"]),
                                                         "counts": rle["counts"].decode("ascii")},
                                        "area": area, "bbox": [x, y, w, h], "iscrowd": 0,
                                        "object": arena.object_spec(obj).name})
    coco = {"info": {"description": f"seg_by_interaction sim {split} backgrounds, {object_split} objects",
                     "seed": seed, "split": split, "object_split": object_split},
            "images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "object"}]}
    path = out / "annotations.json"
    path.write_text(json.dumps(coco))
    return path
