"""Cross-view consistency of one interaction's labels (``labeling.cross_view``).

Every camera sees the same object leave (pair 0) or arrive (pair 1), so once each view's
mask is projected onto the table with its camera model, the views should agree on how far
the object reaches from the pick (or place) point. A difference mask that merged a
disturbed neighbour reaches much farther in the views where the two blobs touched in the
image than in the views where they did not. Projecting onto the table plane smears an
object's upper parts away from the camera, but by similar amounts for cameras at similar
elevations, so the test compares each view against the median of the others rather than
against an absolute size.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


def plane_reach(mask: np.ndarray, camera, point_xy, percentile: float) -> float:
    """Metres: the ``percentile``-th distance from ``point_xy`` of the mask's pixels
    projected onto the table plane (z = 0) with ``camera``'s model."""
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return 0.0
    xy = camera.pixel_to_plane(np.column_stack([cols + 0.5, rows + 0.5]))
    d = np.hypot(xy[:, 0] - float(point_xy[0]), xy[:, 1] - float(point_xy[1]))
    return float(np.percentile(d, percentile))


def reject_inconsistent(views: Sequence, cameras: Sequence, cfg: Mapping) -> list:
    """``views`` (LabeledView) without the positives whose plane reach exceeds
    ``max_reach_ratio`` times the median of the other positive views of the same pair;
    a pair is judged only when it has ``min_views`` positives. Each kept positive's
    ``meta["plane_reach_m"]`` records its reach; negatives pass unchanged."""
    cv = cfg.cross_view
    min_views = int(cv.min_views)
    ratio = float(cv.max_reach_ratio)
    percentile = float(cv.reach_percentile)
    if min_views < 2 or ratio <= 1.0 or not 0.0 < percentile <= 100.0:
        raise ValueError(f"labeling.cross_view needs min_views >= 2, max_reach_ratio > 1 and "
                         f"reach_percentile in (0, 100], got {min_views}, {ratio}, {percentile}")
    rejected = set()
    for pair in sorted({v.pair for v in views}):
        positives = [v for v in views if v.pair == pair and v.positive]
        reach = [plane_reach(v.mask, cameras[v.camera], v.meta["point_xy"], percentile)
                 for v in positives]
        for v, r in zip(positives, reach):
            v.meta["plane_reach_m"] = r
        if len(positives) < min_views:
            continue
        for i, v in enumerate(positives):
            others = float(np.median([r for j, r in enumerate(reach) if j != i]))
            if reach[i] > ratio * others:
                rejected.add(id(v))
    return [v for v in views if id(v) not in rejected]
