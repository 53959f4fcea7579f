"""Class-agnostic mask AP under two protocols, precision-recall and recall-at-precision.

Two protocols, always labelled, because they give different numbers on the same masks:

* ``"voc07"`` — the authors' protocol (Pathak et al.): predictions of the whole set are
  ranked by score; a prediction is a true positive when its best IoU with a still
  unmatched ground-truth mask of its image is *strictly above* the threshold; AP is
  VOC2007's 11-point interpolated average precision.
* ``"coco"`` — pycocotools ``COCOeval`` (``iouType="segm"``, ``useCats=0``): a match
  needs IoU *at least* the threshold; AP is the 101-point interpolated precision
  averaged over recall thresholds (``-1`` entries ignored, as ``summarize()`` does).

Masks are compared as pycocotools run-length encodings so that both protocols use the
same exact IoU arithmetic; only the tie rule and the interpolation differ.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

PROTOCOLS = ("voc07", "coco")
VOC07_RECALL_POINTS = np.linspace(0.0, 1.0, 11)
DEFAULT_COCO_MAX_DETS = (1, 10, 100)


@dataclass
class EncodedSet:
    """A whole evaluation set in run-length form: what both protocols consume.

    ``pred_rles[i]`` / ``pred_scores[i]`` are image i's predictions, ``gt_rles[i]`` its
    ground-truth objects; ``image_hw[i]`` its (height, width).
    """
    pred_rles: list[list[dict]]
    pred_scores: list[np.ndarray]
    gt_rles: list[list[dict]]
    image_hw: list[tuple[int, int]]

    @property
    def num_gt(self) -> int:
        return sum(len(g) for g in self.gt_rles)

    def ious(self) -> list[np.ndarray]:
        """Per image, the [N, M] IoU matrix of predictions against ground truth."""
        out = []
        for preds, gts in zip(self.pred_rles, self.gt_rles):
            if not preds or not gts:
                out.append(np.zeros((len(preds), len(gts))))
            else:
                out.append(np.asarray(mask_utils.iou(preds, gts, [0] * len(gts)),
                                      dtype=np.float64).reshape(len(preds), len(gts)))
        return out


def encode_masks(masks: np.ndarray) -> list[dict]:
    """Bool masks [N, H, W] -> pycocotools RLEs (counts as str, JSON-friendly)."""
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"masks must be [N, H, W], got shape {masks.shape}")
    if masks.shape[0] == 0:
        return []
    rles = mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    for rle in rles:
        rle["counts"] = rle["counts"].decode("ascii")
    return rles


def decode_masks(rles: Sequence[dict], height: int, width: int) -> np.ndarray:
    """pycocotools RLEs -> bool masks [N, H, W] (an empty [0, H, W] for none)."""
    if len(rles) == 0:
        return np.zeros((0, height, width), dtype=bool)
    return mask_utils.decode(list(rles)).transpose(2, 0, 1).astype(bool)


def encode_set(predictions, ground_truth, max_detections: int | None = None) -> EncodedSet:
    """Validate the public (masks, scores) / masks inputs and encode them.

    With ``max_detections`` only each image's highest-scoring predictions are kept
    (COCO's per-image cap; applied to both protocols so they see the same set).
    """
    if len(predictions) != len(ground_truth):
        raise ValueError(f"{len(predictions)} prediction entries for {len(ground_truth)} "
                         "ground-truth images: need one per image")
    pred_rles, pred_scores, gt_rles, image_hw = [], [], [], []
    for i, (pred, gt) in enumerate(zip(predictions, ground_truth)):
        gt = np.asarray(gt)
        if gt.ndim != 3:
            raise ValueError(f"ground_truth[{i}] must be bool masks [M, H, W], got shape {gt.shape}")
        try:
            masks, scores = pred
        except (TypeError, ValueError):
            raise ValueError(f"predictions[{i}] must be a (masks, scores) pair") from None
        masks = np.asarray(masks)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if masks.ndim != 3 or masks.shape[1:] != gt.shape[1:]:
            raise ValueError(f"predictions[{i}] masks have shape {masks.shape}; expected "
                             f"[N, {gt.shape[1]}, {gt.shape[2]}] like its ground truth")
        if len(scores) != masks.shape[0]:
            raise ValueError(f"predictions[{i}]: {masks.shape[0]} masks but {len(scores)} scores")
        if not np.all(np.isfinite(scores)):
            raise ValueError(f"predictions[{i}]: scores must be finite")
        if max_detections is not None and len(scores) > max_detections:
            keep = np.argsort(-scores, kind="stable")[:max_detections]
            keep.sort()
            masks, scores = masks[keep], scores[keep]
        pred_rles.append(encode_masks(masks.astype(bool)))
        pred_scores.append(scores)
        gt_rles.append(encode_masks(gt.astype(bool)))
        image_hw.append((int(gt.shape[1]), int(gt.shape[2])))
    return EncodedSet(pred_rles, pred_scores, gt_rles, image_hw)


def _as_thresholds(iou_threshold) -> tuple[list[float], bool]:
    scalar = np.ndim(iou_threshold) == 0
    thresholds = [float(t) for t in np.atleast_1d(iou_threshold)]
    if not thresholds or any(not 0.0 <= t < 1.0 for t in thresholds):
        raise ValueError(f"iou_threshold must be in [0, 1), got {iou_threshold!r}")
    return thresholds, scalar


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol '{protocol}' (known: {', '.join(PROTOCOLS)})")


# ---------------------------------------------------------------- the authors' protocol

def voc07_ranked_matches(ious: list[np.ndarray], scores: list[np.ndarray],
                         iou_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Rank every prediction of the set by score; flag each true or false positive.

    Returns (sorted scores, is_tp) in rank order. A prediction takes the unmatched
    ground truth of its image with which its IoU is highest, if that IoU is strictly
    above ``iou_threshold``.
    """
    image_of = np.concatenate([np.full(len(s), i) for i, s in enumerate(scores)] or [np.zeros(0, int)])
    index_in = np.concatenate([np.arange(len(s)) for s in scores] or [np.zeros(0, int)])
    flat_scores = np.concatenate(list(scores) or [np.zeros(0)])
    order = np.argsort(-flat_scores, kind="stable")
    matched = [np.zeros(iou.shape[1], dtype=bool) for iou in ious]
    is_tp = np.zeros(len(order), dtype=bool)
    for rank, k in enumerate(order):
        img, det = image_of[k], index_in[k]
        row = np.where(matched[img], -1.0, ious[img][det])
        if row.size and row.max() > iou_threshold:
            matched[img][int(np.argmax(row))] = True
            is_tp[rank] = True
    return flat_scores[order], is_tp


def _voc07_curve(encoded: EncodedSet, iou_threshold: float, ious=None):
    ious = encoded.ious() if ious is None else ious
    sorted_scores, is_tp = voc07_ranked_matches(ious, encoded.pred_scores, iou_threshold)
    tp = np.cumsum(is_tp)
    fp = np.cumsum(~is_tp)
    recall = tp / max(encoded.num_gt, 1)
    precision = tp / np.maximum(tp + fp, 1)
    return precision, recall, sorted_scores


def voc07_average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC2007 11-point AP: mean over r in {0, .1, ..., 1} of max precision at recall >= r."""
    points = [precision[recall >= r].max() if np.any(recall >= r) else 0.0
              for r in VOC07_RECALL_POINTS]
    return float(np.mean(points))


# ---------------------------------------------------------------- COCO through pycocotools

def _areas(rles: Sequence[dict]) -> np.ndarray:
    return np.asarray(mask_utils.area(list(rles)), float) if len(rles) else np.zeros(0)


def voc07_binned_ap(encoded: EncodedSet, iou_threshold: float, area_range, ious=None) -> float:
    """The authors' AP restricted to objects whose area lies in ``area_range`` [lo, hi), with
    COCO's rule for the rest: a prediction matching an object outside the range is neither a
    true nor a false positive, an unmatched prediction outside the range is not counted.
    NaN when no object lies in the range."""
    lo, hi = (float(v) for v in area_range)
    ious = encoded.ious() if ious is None else ious
    gt_in = [(a >= lo) & (a < hi) for a in (_areas(g) for g in encoded.gt_rles)]
    pred_in = [(a >= lo) & (a < hi) for a in (_areas(p) for p in encoded.pred_rles)]
    n_gt = int(sum(g.sum() for g in gt_in))
    if n_gt == 0:
        return float("nan")
    image_of = np.concatenate([np.full(len(sc), i) for i, sc in enumerate(encoded.pred_scores)]
                              or [np.zeros(0, int)])
    index_in = np.concatenate([np.arange(len(sc)) for sc in encoded.pred_scores] or [np.zeros(0, int)])
    flat = np.concatenate(list(encoded.pred_scores) or [np.zeros(0)])
    matched = [np.zeros(len(g), bool) for g in gt_in]
    flags = []                                   # True = TP, False = FP, in rank order; ignored left out
    for k in np.argsort(-flat, kind="stable"):
        img, det = image_of[k], index_in[k]
        row = np.where(matched[img], -1.0, ious[img][det])
        if row.size and row.max() > iou_threshold:
            j = int(np.argmax(row))
            matched[img][j] = True
            if gt_in[img][j]:
                flags.append(True)
        elif pred_in[img][det]:
            flags.append(False)
    is_tp = np.asarray(flags, bool)
    tp, fp = np.cumsum(is_tp), np.cumsum(~is_tp)
    return voc07_average_precision(tp / np.maximum(tp + fp, 1), tp / n_gt) if len(is_tp) else 0.0


def size_binned_ap(encoded: EncodedSet, thresholds: Sequence[float], protocol: str, bins: dict,
                   coco_max_dets: Sequence[int] = DEFAULT_COCO_MAX_DETS) -> dict[str, list[float]]:
    """{bin: [AP at each threshold]} for ``bins`` = {name: [lo, hi)} object areas (frame px):
    the objects outside a bin are ignored as COCO's area ranges do (``voc07_binned_ap``;
    pycocotools' own areaRng for "coco"). NaN where a bin holds no object."""
    _check_protocol(protocol)
    names = list(bins)
    if sum(len(sc) for sc in encoded.pred_scores) == 0:
        areas = np.concatenate([_areas(g) for g in encoded.gt_rles] or [np.zeros(0)])
        held = {b: bool(np.any((areas >= float(bins[b][0])) & (areas < float(bins[b][1])))) for b in names}
        return {b: [0.0 if held[b] else float("nan") for _ in thresholds] for b in names}
    if protocol == "voc07":
        ious = encoded.ious()
        return {b: [voc07_binned_ap(encoded, t, bins[b], ious) for t in thresholds] for b in names}
    ev = _coco_eval(encoded, thresholds, coco_max_dets, area_ranges=[bins[b] for b in names])
    out = {}
    for a, b in enumerate(names):
        out[b] = _coco_ap_from_precision(ev.eval["precision"][:, :, 0, a, -1])
    return out


def _coco_eval(encoded: EncodedSet, thresholds: Sequence[float],
               max_dets: Sequence[int], area_ranges=None) -> COCOeval:
    images, gt_anns, dt_anns = [], [], []
    for i, (h, w) in enumerate(encoded.image_hw):
        images.append({"id": i + 1, "height": h, "width": w})
        for rle in encoded.gt_rles[i]:
            gt_anns.append({"id": len(gt_anns) + 1, "image_id": i + 1, "category_id": 1,
                            "segmentation": rle, "area": float(mask_utils.area(rle)),
                            "bbox": list(mask_utils.toBbox(rle)), "iscrowd": 0})
        for rle, score in zip(encoded.pred_rles[i], encoded.pred_scores[i]):
            dt_anns.append({"image_id": i + 1, "category_id": 1, "segmentation": rle,
                            "score": float(score)})
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": images, "annotations": gt_anns,
                           "categories": [{"id": 1, "name": "object"}]}
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dt_anns)
        ev = COCOeval(coco_gt, coco_dt, iouType="segm")
        ev.params.useCats = 0
        ev.params.iouThrs = np.asarray(thresholds, dtype=np.float64)
        ev.params.maxDets = list(max_dets)
        ev.params.areaRng = [[float(lo), float(hi)] for lo, hi in (area_ranges or [[0.0, 1e10]])]
        ev.params.areaRngLbl = [f"a{k}" for k in range(len(ev.params.areaRng))]
        ev.evaluate()
        ev.accumulate()
    return ev


def _coco_precision(ev: COCOeval) -> np.ndarray:
    """[T, R] interpolated precision for all areas and the largest maxDets."""
    return ev.eval["precision"][:, :, 0, 0, -1]


def _coco_ap_from_precision(precision_tr: np.ndarray) -> list[float]:
    out = []
    for row in precision_tr:
        valid = row[row > -1]
        out.append(float(np.mean(valid)) if valid.size else float("nan"))
    return out


# ---------------------------------------------------------------- public API

def average_precision(encoded: EncodedSet, thresholds: Sequence[float], protocol: str,
                      coco_max_dets: Sequence[int] = DEFAULT_COCO_MAX_DETS) -> list[float]:
    """AP at each threshold for an already encoded set (used by the evaluator)."""
    _check_protocol(protocol)
    if encoded.num_gt == 0:
        raise ValueError("the ground truth holds no object masks: AP is undefined")
    if sum(len(s) for s in encoded.pred_scores) == 0:
        return [0.0 for _ in thresholds]
    if protocol == "voc07":
        ious = encoded.ious()
        return [voc07_average_precision(*_voc07_curve(encoded, t, ious)[:2]) for t in thresholds]
    return _coco_ap_from_precision(_coco_precision(_coco_eval(encoded, thresholds, coco_max_dets)))


def mask_ap(predictions, ground_truth, iou_threshold, protocol: str,
            max_detections: int | None = None,
            coco_max_dets: Sequence[int] = DEFAULT_COCO_MAX_DETS):
    """Class-agnostic mask AP of ``predictions`` against ``ground_truth``.

    predictions: one (bool masks [N, H, W], scores [N]) pair per image.
    ground_truth: one bool mask array [M, H, W] per image.
    iou_threshold: a float (returns a float) or a sequence (returns a list).
    protocol: "voc07" (authors': strict >, 11-point) or "coco" (pycocotools: >=, 101-point).
    max_detections: keep only each image's top-scoring predictions (both protocols);
    the "coco" protocol also caps at ``coco_max_dets[-1]`` per image, as COCOeval does.
    """
    _check_protocol(protocol)
    thresholds, scalar = _as_thresholds(iou_threshold)
    encoded = encode_set(predictions, ground_truth, max_detections)
    aps = average_precision(encoded, thresholds, protocol, coco_max_dets)
    return aps[0] if scalar else aps


def curve_from_encoded(encoded: EncodedSet, iou_threshold: float, protocol: str,
                       coco_max_dets: Sequence[int] = DEFAULT_COCO_MAX_DETS):
    """(precision, recall, scores) for an already encoded set; see precision_recall_curve."""
    _check_protocol(protocol)
    if protocol == "voc07":
        return _voc07_curve(encoded, iou_threshold)
    if encoded.num_gt == 0 or sum(len(s) for s in encoded.pred_scores) == 0:
        recall = np.linspace(0.0, 1.0, 101)
        return np.zeros_like(recall), recall, np.zeros_like(recall)
    ev = _coco_eval(encoded, [iou_threshold], coco_max_dets)
    precision = _coco_precision(ev)[0]
    scores = ev.eval["scores"][0, :, 0, 0, -1]
    return precision, np.asarray(ev.params.recThrs), scores


def precision_recall_curve(predictions, ground_truth, iou_threshold: float,
                           protocol: str = "voc07", max_detections: int | None = None,
                           coco_max_dets: Sequence[int] = DEFAULT_COCO_MAX_DETS):
    """Precision and recall of the ranked predictions: (precision, recall, scores).

    "voc07": one point per prediction in rank order (raw, not interpolated), with the
    score at which that point is reached. "coco": COCOeval's interpolated precision at
    its 101 recall thresholds (0 where a recall is never reached).
    """
    thresholds, _ = _as_thresholds(iou_threshold)
    if len(thresholds) != 1:
        raise ValueError("precision_recall_curve takes a single iou_threshold")
    encoded = encode_set(predictions, ground_truth, max_detections)
    return curve_from_encoded(encoded, thresholds[0], protocol, coco_max_dets)


def recall_at_precision_from_encoded(encoded: EncodedSet, iou_threshold: float,
                                     precision_levels: Sequence[float]) -> np.ndarray:
    """See recall_at_precision; for an already encoded set."""
    levels = np.asarray(precision_levels, dtype=np.float64).reshape(-1)
    if levels.size == 0 or np.any((levels < 0) | (levels > 1)):
        raise ValueError(f"precision_levels must lie in [0, 1], got {precision_levels!r}")
    if encoded.num_gt == 0:
        raise ValueError("the ground truth holds no object masks: recall is undefined")
    precision, recall, _ = _voc07_curve(encoded, iou_threshold)
    out = np.zeros(levels.shape)
    for i, level in enumerate(levels):
        ok = precision >= level
        out[i] = recall[ok].max() if np.any(ok) else 0.0
    return out


def recall_at_precision(predictions, ground_truth, iou_threshold: float,
                        precision_levels: Sequence[float],
                        max_detections: int | None = None) -> np.ndarray:
    """Recall of ground-truth objects at fixed precision levels (paper Fig. 3b).

    For each level, the highest recall reached at any cut of the score ranking whose
    precision is at least that level (0 if none); matching is the authors' (strict >).
    """
    thresholds, _ = _as_thresholds(iou_threshold)
    encoded = encode_set(predictions, ground_truth, max_detections)
    return recall_at_precision_from_encoded(encoded, thresholds[0], precision_levels)
