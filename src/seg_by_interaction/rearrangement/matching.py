"""Which segment of the current image is which segment of the target image.

Paper 6.3.1 (c): segments are matched by their features. Here one assignment over all
pairs (the Hungarian method, ``scipy.optimize.linear_sum_assignment``) instead of a
greedy nearest neighbour, so two similar objects cannot both claim the same target.
A pair costing more than the rejection threshold is no better than leaving both
segments unmatched: costs are clipped at the threshold before solving and such pairs
are dropped afterwards. An unmatched segment is never moved.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist


@dataclass(frozen=True)
class Match:
    """Current segment ``current`` is target segment ``target`` at ``cost``."""
    current: int
    target: int
    cost: float


def cost_matrix(current: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Euclidean distances between descriptors [N, D] and [M, D] -> [N, M]."""
    current = np.asarray(current, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if current.ndim != 2 or target.ndim != 2:
        raise ValueError(f"descriptors must be [N, D] arrays, got {current.shape} and {target.shape}")
    if len(current) == 0 or len(target) == 0:
        return np.zeros((len(current), len(target)))
    if current.shape[1] != target.shape[1]:
        raise ValueError(f"descriptor lengths differ: {current.shape[1]} vs {target.shape[1]}")
    return cdist(current, target)


def match_segments(cost: np.ndarray, threshold: float) -> list[Match]:
    """Minimum-cost one-to-one matching with rejection, best (cheapest) pairs first."""
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost must be an [N, M] matrix, got shape {cost.shape}")
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"rejection threshold must be finite and >= 0, got {threshold}")
    if cost.size == 0:
        return []
    if np.isnan(cost).any():
        raise ValueError("cost matrix holds NaN")
    rows, cols = linear_sum_assignment(np.minimum(cost, threshold))
    out = [Match(int(r), int(c), float(cost[r, c])) for r, c in zip(rows, cols)
           if cost[r, c] <= threshold]
    return sorted(out, key=lambda m: m.cost)


def centroid(mask: np.ndarray) -> np.ndarray:
    """(x, y) pixel centroid of a non-empty bool mask."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError("empty mask has no centroid")
    return np.array([xs.mean(), ys.mean()])


def pixel_distances(matches: list[Match], current_xy: np.ndarray, target_xy: np.ndarray) -> np.ndarray:
    """Pixel distance between the centroids of each matched pair."""
    if not matches:
        return np.zeros(0)
    cur = np.asarray(current_xy, dtype=np.float64)[[m.current for m in matches]]
    tgt = np.asarray(target_xy, dtype=np.float64)[[m.target for m in matches]]
    return np.linalg.norm(cur - tgt, axis=1)
