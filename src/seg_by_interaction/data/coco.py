"""COCO instance-segmentation JSON from the dataset store (one category: object).

Every example becomes an image (file_name relative to the store root); each
positive adds one annotation with an RLE mask. Negatives stay as images without
annotations. Written atomically (tmp + os.replace).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils


def export_coco(store, path, split=None, sources=None) -> dict:
    """Write ``path``; returns counts {'images': n, 'annotations': m}."""
    images, annotations = [], []
    for example_id in store.ids(split=split, sources=sources):
        row = store.row(example_id)
        images.append({"id": int(example_id), "file_name": row["image_path"],
                       "width": int(row["width"]), "height": int(row["height"]),
                       "source": row["source"], "split": row["split"],
                       "robot_id": row["robot_id"], "interaction_id": row["interaction_id"],
                       "camera": int(row["camera"]), "pair": int(row["pair"]),
                       "pick_px": [row["pick_x"], row["pick_y"]]})
        if row["mask_path"] is None:
            continue
        mask = store.get(example_id).mask
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        area = float(mask_utils.area(rle))
        bbox = [float(v) for v in mask_utils.toBbox(rle)]
        rle["counts"] = rle["counts"].decode("ascii")
        annotations.append({"id": len(annotations) + 1, "image_id": int(example_id),
                            "category_id": 1, "segmentation": rle, "area": area,
                            "bbox": bbox, "iscrowd": 0})
    doc = {
        "info": {"description": f"seg_by_interaction dataset store {store.root}",
                 "date_created": time.strftime("%Y-%m-%dT%H:%M:%S")},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "object", "supercategory": "object"}],
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, out)
    return {"images": len(images), "annotations": len(annotations)}
