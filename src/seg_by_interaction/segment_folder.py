"""Segment a folder of photos to label images, without ROS: for people who want masks.

    python -m seg_by_interaction segment-folder IN OUT [--checkpoint P] [--max-hypotheses N]
        [--min-score S]          (also: rosrun seg_by_interaction segment_folder IN OUT)

Every image in IN (PNG, JPEG, BMP, TIFF; sorted by name) becomes OUT/<name>.png, a 16-bit
label image (0 = background, k = the k-th best hypothesis; where masks overlap the better
score keeps the pixel), and a line of OUT/hypotheses.jsonl (file, size, each label's score
and box). Images larger than inference.max_image_pixels are segmented downscaled and their
labels scaled back. The model is --checkpoint, else the one the package ships.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np
from tqdm import tqdm

from seg_by_interaction.perception.frame_size import downscale, upscale
from seg_by_interaction.perception.label_image import label_image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def images_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def segment_folder(segment: Callable[[np.ndarray], list], src: Path, out: Path, max_pixels: int,
                   progress: bool = True, log: Callable[[str], None] = print) -> int:
    """Label images of every readable image in ``src``; how many were written. An unreadable
    file is named and skipped (the others are still segmented)."""
    files = images_in(src)
    if not files:
        raise FileNotFoundError(f"{src} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(out / "hypotheses.jsonl", "w") as index:
        for path in tqdm(files, desc="segmenting", unit="img", disable=not progress):
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                log(f"skipped {path.name}: not a readable image")
                continue
            image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            small, factor = downscale(image, max_pixels)
            hyps = segment(small)
            if factor != 1.0:
                hyps = upscale(hyps, image.shape[:2])
            hyps = sorted(hyps, key=lambda h: -float(h.score))
            cv2.imwrite(str(out / f"{path.stem}.png"), label_image(hyps, image.shape[:2]))
            index.write(json.dumps({"file": path.name, "width": image.shape[1], "height": image.shape[0],
                                    "labels": [{"label": i + 1, "score": round(float(h.score), 4),
                                                "box": [int(v) for v in h.box]}
                                               for i, h in enumerate(hyps)]}) + "\n")
            written += 1
    return written


def run(cfg, src: str, out: str, checkpoint: Optional[str], max_hypotheses: int, min_score: float) -> int:
    from seg_by_interaction.perception.inference import load_segmenter
    from seg_by_interaction.perception.shipped import shipped_model
    seg = load_segmenter(checkpoint or str(shipped_model()), cfg, device=cfg.device)
    n = segment_folder(lambda img: seg.segment(img, max_hypotheses=max_hypotheses, min_score=min_score),
                       Path(src), Path(out), cfg.inference.max_image_pixels)
    print(f"{n} label images in {out}")
    return 0 if n else 1
