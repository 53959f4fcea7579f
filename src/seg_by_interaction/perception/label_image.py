"""Hypotheses -> one label image, the format point-cloud clustering and grasp pipelines read:
uint16, 0 = background, k = the k-th hypothesis by score (1 = best); where masks overlap,
the better-scored one keeps the pixel."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from seg_by_interaction.types import Hypothesis

MAX_LABELS = 65535


def label_image(hypotheses: Sequence[Hypothesis], shape: tuple[int, int]) -> np.ndarray:
    """``hypotheses`` in any order; label k is the k-th best score (ties: the given order)."""
    out = np.zeros(shape, np.uint16)
    order = sorted(range(len(hypotheses)), key=lambda i: -float(hypotheses[i].score))
    if len(order) > MAX_LABELS:
        raise ValueError(f"{len(order)} hypotheses do not fit a 16-bit label image")
    for label, i in reversed(list(enumerate(order, start=1))):   # best last: it wins overlaps
        mask = np.asarray(hypotheses[i].mask, bool)
        if mask.shape != tuple(shape):
            raise ValueError(f"hypothesis {i}: mask {mask.shape} does not match the image {shape}")
        out[mask] = label
    return out
