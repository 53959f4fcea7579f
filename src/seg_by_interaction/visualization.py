"""Overlays people look at (rqt_image_view, the report): coloured masks with scores."""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from seg_by_interaction.types import Hypothesis


def palette(n: int) -> np.ndarray:
    """n well-separated RGB colours (golden-ratio hues), uint8 [n, 3]."""
    hues = (np.arange(n) * 0.618033988749895 % 1.0 * 179).astype(np.uint8)
    hsv = np.stack([hues, np.full(n, 220, np.uint8), np.full(n, 255, np.uint8)], axis=1)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2RGB)[0]


def overlay_masks(image: np.ndarray, masks: Sequence[np.ndarray],
                  labels: Optional[Sequence[str]] = None, alpha: float = 0.5,
                  points: Optional[Sequence[tuple[float, float]]] = None) -> np.ndarray:
    """RGB image with each mask blended in its own colour, outlined and labelled."""
    out = np.asarray(image, dtype=np.uint8).copy()
    colours = palette(max(len(masks), 1))
    for i, mask in enumerate(masks):
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            continue
        c = colours[i].astype(np.float32)
        out[mask] = (out[mask] * (1 - alpha) + c * alpha).astype(np.uint8)
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, tuple(int(v) for v in colours[i]), 1)
        if labels is not None and i < len(labels):
            ys, xs = np.nonzero(mask)
            org = (int(xs.min()), max(int(ys.min()) - 3, 10))
            cv2.putText(out, labels[i], org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                        cv2.LINE_AA)
    for (x, y) in points or ():
        cv2.drawMarker(out, (int(round(x)), int(round(y))), (255, 0, 0), cv2.MARKER_CROSS, 12, 2)
    return out


def overlay_hypotheses(image: np.ndarray, hypotheses: Sequence[Hypothesis],
                       limit: int = 20) -> np.ndarray:
    hyps = list(hypotheses)[:limit]
    return overlay_masks(image, [h.mask for h in hyps], [f"{h.score:.2f}" for h in hyps])
