"""Frames larger than inference allows: segmented downscaled, their masks scaled back, so a
huge frame costs one bounded pass (a stream never stalls, a photo folder never fails)."""
from __future__ import annotations

import cv2
import numpy as np

from seg_by_interaction.types import Hypothesis


def downscale(image: np.ndarray, max_pixels: int) -> tuple[np.ndarray, float]:
    """(image no larger than ``max_pixels``, the factor applied: 1.0 when it fit)."""
    h, w = image.shape[:2]
    if h * w <= max_pixels:
        return image, 1.0
    f = float(np.sqrt(max_pixels / (h * w)))
    small = cv2.resize(image, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    return small, f


def upscale(hypotheses: list[Hypothesis], shape: tuple[int, int]) -> list[Hypothesis]:
    """Hypotheses of a downscaled frame at the input's size (masks by nearest neighbour)."""
    h, w = shape
    out = []
    for hyp in hypotheses:
        mask = cv2.resize(hyp.mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        ys, xs = np.nonzero(mask)
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else (0, 0, 0, 0)
        out.append(Hypothesis(mask=mask, score=hyp.score, box=box))
    return out
