"""Photographs as table textures: square, at the texture's size."""
from __future__ import annotations

import cv2
import numpy as np


def square_photo(img: np.ndarray, px: int) -> np.ndarray:
    """The centre square of ``img`` at ``px`` x ``px`` (table textures are square)."""
    h, w = img.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    crop = img[y0:y0 + side, x0:x0 + side]
    return cv2.resize(crop, (px, px), interpolation=cv2.INTER_AREA if side > px else cv2.INTER_CUBIC)
