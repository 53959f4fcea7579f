"""The unseen-object instance segmentation metrics (Xie et al., UOIS-Net; used by UCN,
MSMFormer, UOAIS): Overlap and Boundary precision / recall / F-measure, and F@.75.

They compare two label images (0 = background, k > 0 = one object), so a method's
overlapping, scored hypotheses are first turned into one (``perception.label_image``: the
best score keeps a pixel where masks overlap). Per image:

* every pair (ground-truth object i, predicted object j) gets the F-measure of their
  overlap; the Hungarian algorithm matches objects one-to-one maximising the sum of F;
* Overlap P = matched intersection pixels / all predicted object pixels, R = the same over
  all ground-truth object pixels, F = 2PR / (P + R);
* Boundary P/R/F: the same with each object's one-pixel boundary, a matched predicted
  boundary pixel counting when it lies within ``bound_th`` x the image diagonal of the
  matched object's boundary (and the other way round for recall; DAVIS's F-boundary);
* F@.75: the share of ground-truth objects whose match has overlap F-measure > 0.75.

An image with no prediction scores P = 1, R = 0; one with no ground truth P = 0, R = 1;
neither, 1 and 1. A set's figure is the mean over its images.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment
from skimage.morphology import disk

NAMES = ("overlap_p", "overlap_r", "overlap_f", "boundary_p", "boundary_r", "boundary_f", "f_at_075")


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """One-pixel boundary of a bool mask: pixels whose right, lower or lower-right
    neighbour differs (DAVIS's seg2bmap, no resizing)."""
    m = np.asarray(mask, dtype=bool)
    right = np.zeros_like(m)
    below = np.zeros_like(m)
    diag = np.zeros_like(m)
    right[:, :-1] = m[:, 1:]
    below[:-1, :] = m[1:, :]
    diag[:-1, :-1] = m[1:, 1:]
    b = (m ^ right) | (m ^ below) | (m ^ diag)
    b[-1, :] = m[-1, :] ^ right[-1, :]
    b[:, -1] = m[:, -1] ^ below[:, -1]
    b[-1, -1] = False
    return b


def _f(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def image_metrics(pred: np.ndarray, gt: np.ndarray, bound_th: float = 0.003,
                  f_threshold: float = 0.75) -> dict:
    """The metrics of one predicted label image against its ground-truth label image."""
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in size")
    p_ids = [int(v) for v in np.unique(pred) if v != 0]
    g_ids = [int(v) for v in np.unique(gt) if v != 0]
    if not p_ids or not g_ids:
        p = 1.0 if not p_ids else 0.0
        r = 1.0 if not g_ids else 0.0
        both_empty = not p_ids and not g_ids
        return {"overlap_p": p, "overlap_r": r, "overlap_f": 1.0 if both_empty else 0.0,
                "boundary_p": p, "boundary_r": r, "boundary_f": 1.0 if both_empty else 0.0,
                "f_at_075": 1.0 if both_empty else 0.0, "objects": len(g_ids), "predicted": len(p_ids)}
    radius = bound_th if bound_th >= 1 else int(np.ceil(bound_th * np.hypot(*gt.shape)))
    kernel = disk(radius).astype(np.uint8)
    p_masks = [pred == k for k in p_ids]
    g_masks = [gt == k for k in g_ids]
    p_bounds = [boundary_map(m) for m in p_masks]
    g_bounds = [boundary_map(m) for m in g_masks]
    p_dil = [cv2.dilate(b.astype(np.uint8), kernel).astype(bool) for b in p_bounds]
    g_dil = [cv2.dilate(b.astype(np.uint8), kernel).astype(bool) for b in g_bounds]
    f = np.zeros((len(g_ids), len(p_ids)))
    inter = np.zeros_like(f)
    for i, g in enumerate(g_masks):
        for j, m in enumerate(p_masks):
            tp = np.count_nonzero(g & m)
            inter[i, j] = tp
            f[i, j] = _f(tp / m.sum(), tp / g.sum()) if tp else 0.0
    rows, cols = linear_sum_assignment(f, maximize=True)
    matched = list(zip(rows.tolist(), cols.tolist()))
    overlap_p = sum(inter[i, j] for i, j in matched) / sum(m.sum() for m in p_masks)
    overlap_r = sum(inter[i, j] for i, j in matched) / sum(g.sum() for g in g_masks)
    b_prec_tp = sum(np.count_nonzero(p_bounds[j] & g_dil[i]) for i, j in matched)
    b_rec_tp = sum(np.count_nonzero(g_bounds[i] & p_dil[j]) for i, j in matched)
    boundary_p = b_prec_tp / max(sum(b.sum() for b in p_bounds), 1)
    boundary_r = b_rec_tp / max(sum(b.sum() for b in g_bounds), 1)
    return {"overlap_p": float(overlap_p), "overlap_r": float(overlap_r),
            "overlap_f": _f(overlap_p, overlap_r),
            "boundary_p": float(boundary_p), "boundary_r": float(boundary_r),
            "boundary_f": _f(boundary_p, boundary_r),
            "f_at_075": sum(f[i, j] > f_threshold for i, j in matched) / len(g_ids),
            "objects": len(g_ids), "predicted": len(p_ids)}


def set_metrics(per_image: Sequence[dict]) -> dict:
    """The mean of each metric over the images (how the field reports a set)."""
    if not per_image:
        raise ValueError("no images to average")
    return {k: float(np.mean([m[k] for m in per_image])) for k in NAMES}
