"""A held-out evaluation set on disk: one COCO JSON beside its PNG images.

The format is what ``sim.datasets.generate_eval_set`` writes: standard COCO with
``images[].file_name`` relative to the JSON's folder and ``annotations[].segmentation``
as pycocotools RLE, one category (class-agnostic). Extra keys on an image entry (for
example which object/background split it was drawn from) are kept as ``meta`` so the
generalisation analysis can select subsets.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from pycocotools.coco import COCO

_COCO_IMAGE_KEYS = {"id", "file_name", "height", "width"}


@dataclass
class EvalImage:
    """One test image: where it is, its ground-truth objects (RLE) and extra fields."""
    image_id: int
    path: Path
    height: int
    width: int
    gt_rles: list[dict]
    meta: dict = field(default_factory=dict)

    def load_rgb(self) -> np.ndarray:
        bgr = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"cannot read evaluation image {self.path}")
        if bgr.shape[:2] != (self.height, self.width):
            raise ValueError(f"{self.path}: image is {bgr.shape[1]}x{bgr.shape[0]}, the JSON "
                             f"says {self.width}x{self.height}")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass
class EvalSet:
    """The images of one evaluation set, in the JSON's order."""
    images: list[EvalImage]
    source: str = ""

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, keep: Callable[[EvalImage], bool], name: str = "") -> "EvalSet":
        """The images for which ``keep`` is true (e.g. test objects on train backgrounds)."""
        return EvalSet([im for im in self.images if keep(im)],
                       f"{self.source}[{name}]" if name else self.source)

    @classmethod
    def load(cls, json_path: str | Path) -> "EvalSet":
        # absolute, so image paths stay valid for reports written into another folder
        json_path = Path(json_path).resolve()
        if not json_path.is_file():
            raise ValueError(f"evaluation set not found: {json_path}")
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                coco = COCO(str(json_path))
            except Exception as exc:  # pycocotools raises bare asserts / JSON errors
                raise ValueError(f"{json_path}: not a COCO annotation file ({exc})") from exc
        if len(coco.getCatIds()) > 1:
            raise ValueError(f"{json_path}: expected one (class-agnostic) category, "
                             f"found {len(coco.getCatIds())}")
        images = []
        for image_id in coco.getImgIds():
            info = coco.imgs[image_id]
            missing = _COCO_IMAGE_KEYS - set(info)
            if missing:
                raise ValueError(f"{json_path}: image {image_id} lacks {sorted(missing)}")
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id], iscrowd=None))
            rles = []
            for ann in anns:
                rle = coco.annToRLE(ann)
                if isinstance(rle["counts"], bytes):
                    rle = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
                rles.append(rle)
            images.append(EvalImage(
                image_id=int(image_id), path=json_path.parent / info["file_name"],
                height=int(info["height"]), width=int(info["width"]), gt_rles=rles,
                meta={k: v for k, v in info.items() if k not in _COCO_IMAGE_KEYS}))
        return cls(images, str(json_path))
