"""How good are the pseudo labels? Scored against the arena's ground truth.

The learner never sees ground truth; this module only measures the labeller.
For one view: which GT object really moved at the labelled point (its mask
changed between the two images of the pair), then the label's IoU with it,
whether the label spilled over a second object (merged), and whether it was a
false negative (something moved, no label) or a false positive (nothing moved
inside the window, yet a label: lighting, shadow or noise).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Mapping, Optional

import numpy as np

from seg_by_interaction.labeling.difference import window_bounds


@dataclass
class ViewQuality:
    truth_positive: bool         # a GT object moved at the point
    predicted_positive: bool     # the labeller produced a mask
    iou: Optional[float]         # mask vs the moved object (both positive), else None
    merged: bool                 # the mask also covers a second object
    moved_id: int                # GT id of the object that moved (0 = none)

    @property
    def false_negative(self) -> bool:
        return self.truth_positive and not self.predicted_positive

    @property
    def false_positive(self) -> bool:
        return self.predicted_positive and not self.truth_positive


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def moved_objects(gt_a: np.ndarray, gt_b: np.ndarray, point_px, window: int,
                  changed_iou: float) -> list[int]:
    """GT ids present in the window whose masks differ between the two images
    (IoU below ``changed_iou``), nearest to the point first."""
    x0, y0, x1, y1 = window_bounds(gt_a.shape, point_px, window)
    ids = set(np.unique(gt_a[y0:y1, x0:x1])) | set(np.unique(gt_b[y0:y1, x0:x1]))
    ids.discard(0)
    moved = []
    px, py = float(point_px[0]), float(point_px[1])
    for k in ids:
        a, b = gt_a == k, gt_b == k
        if _iou(a, b) < changed_iou:
            ref = a if a[y0:y1, x0:x1].any() else b
            ys, xs = np.nonzero(ref)
            moved.append((float(np.min((xs - px) ** 2 + (ys - py) ** 2)), int(k)))
    return [k for _, k in sorted(moved)]


def assess_view(mask: Optional[np.ndarray], gt_labelled: np.ndarray, gt_other: np.ndarray,
                point_px, cfg: Mapping) -> ViewQuality:
    """Score one label. ``gt_labelled`` is the GT of the image the mask belongs to
    (I_t for pair 0, I_t+1 for pair 1); ``gt_other`` the GT of the held frame."""
    lab = cfg.labeling if "labeling" in cfg else cfg
    moved = moved_objects(gt_labelled, gt_other, point_px, int(lab.window),
                          float(lab.quality_changed_iou))
    target = moved[0] if moved else 0
    iou, merged = None, False
    if mask is not None and target:
        iou = _iou(mask, gt_labelled == target)
    if mask is not None:
        # merged = the mask spans two objects: the moved one (any overlap) plus another
        # covered for at least quality_merge_fraction of its area
        frac = float(lab.quality_merge_fraction)
        covered = {target} if target and np.logical_and(mask, gt_labelled == target).any() else set()
        for k in np.unique(gt_labelled[mask]):
            if k != 0 and np.logical_and(mask, gt_labelled == k).sum() >= frac * (gt_labelled == k).sum():
                covered.add(int(k))
        merged = len(covered) >= 2
    return ViewQuality(bool(target), mask is not None, iou, merged, int(target))


def summarize(results: Iterable[ViewQuality]) -> dict:
    """Rates over views: mean IoU of true positives, merged rate among labels,
    false-negative rate among moved views, false-positive rate among unmoved views."""
    rs = list(results)
    pos = [r for r in rs if r.truth_positive]
    neg = [r for r in rs if not r.truth_positive]
    labels = [r for r in rs if r.predicted_positive]
    ious = [r.iou for r in rs if r.iou is not None]
    return {
        "views": len(rs),
        "truth_positive": len(pos),
        "labels": len(labels),
        "mean_iou": float(np.mean(ious)) if ious else float("nan"),
        "median_iou": float(np.median(ious)) if ious else float("nan"),
        "merged_rate": float(np.mean([r.merged for r in labels])) if labels else float("nan"),
        "false_negative_rate": float(np.mean([r.false_negative for r in pos])) if pos else float("nan"),
        "false_positive_rate": float(np.mean([r.false_positive for r in neg])) if neg else float("nan"),
    }


def as_dict(r: ViewQuality) -> dict:
    return asdict(r)
