"""Run a segmenter over an evaluation set and score it under both AP protocols.

A segmenter is any callable ``image (RGB uint8 [H, W, 3]) -> list[Hypothesis]``: the
learned network's ``segment`` and the bottom-up baselines look the same from here.
Predictions are kept as run-length encodings (a 350x430 bool mask is 150 kB; its RLE a
few hundred bytes) so a whole set's predictions can stay around for curves and figures.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from seg_by_interaction.evaluation.eval_set import EvalSet
from seg_by_interaction.evaluation.overlap_boundary import image_metrics, set_metrics
from seg_by_interaction.evaluation.metrics import (
    PROTOCOLS, EncodedSet, average_precision, curve_from_encoded, decode_masks,
    encode_masks, recall_at_precision_from_encoded, size_binned_ap)
from seg_by_interaction.perception.label_image import label_image
from seg_by_interaction.types import Hypothesis

Segmenter = Callable[[np.ndarray], Sequence[Hypothesis]]


def threshold_key(iou_threshold: float) -> str:
    """How an IoU threshold is written as a results key: 0.3 -> "0.3"."""
    return f"{float(iou_threshold):g}"


@dataclass
class MethodEvaluation:
    """One method on one evaluation set: AP per protocol and threshold, and its predictions."""
    ap: dict[str, dict[str, float]]      # protocol -> threshold key -> AP in [0, 1]
    encoded: EncodedSet                  # predictions and ground truth, RLE
    image_ids: list[int]
    seconds: float                       # wall clock of segmentation + scoring
    coco_max_dets: tuple[int, ...]
    ap_by_size: dict | None = None       # protocol -> size bin -> threshold key -> AP (NaN: no object)
    overlap_boundary: dict | None = None  # Overlap/Boundary P/R/F, F@.75 (set means, in [0, 1])

    def predictions(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Image ``index``'s predictions decoded: (bool masks [N, H, W], scores [N])."""
        h, w = self.encoded.image_hw[index]
        return decode_masks(self.encoded.pred_rles[index], h, w), self.encoded.pred_scores[index]

    def pr_curves(self, iou_thresholds: Sequence[float]) -> dict:
        """{protocol: {threshold key: {"precision": [...], "recall": [...]}}}, JSON-ready."""
        out: dict = {}
        for protocol in PROTOCOLS:
            out[protocol] = {}
            for t in iou_thresholds:
                precision, recall, _ = curve_from_encoded(self.encoded, t, protocol,
                                                          self.coco_max_dets)
                out[protocol][threshold_key(t)] = {"precision": precision.tolist(),
                                                   "recall": recall.tolist()}
        return out

    def recall_at_precision(self, iou_threshold: float, precision_levels: Sequence[float]) -> list[float]:
        return recall_at_precision_from_encoded(self.encoded, iou_threshold,
                                                precision_levels).tolist()


def hypotheses_to_arrays(hypotheses: Sequence[Hypothesis], height: int, width: int):
    """list[Hypothesis] -> (bool masks [N, H, W], scores [N]), checking the mask size."""
    if len(hypotheses) == 0:
        return np.zeros((0, height, width), dtype=bool), np.zeros(0)
    masks = []
    for k, hyp in enumerate(hypotheses):
        mask = np.asarray(hyp.mask)
        if mask.shape != (height, width):
            raise ValueError(f"hypothesis {k} has a {mask.shape} mask for a "
                             f"{height}x{width} image")
        masks.append(mask.astype(bool))
    return np.stack(masks), np.asarray([float(h.score) for h in hypotheses])


def evaluate_segmenter(segment: Segmenter, eval_set: EvalSet, cfg: dict,
                       desc: str = "evaluating", progress: bool = True) -> MethodEvaluation:
    """Segment every image of ``eval_set`` and compute AP under both protocols.

    ``cfg`` is the full configuration; its ``evaluation`` section gives the IoU
    thresholds, the per-image detection cap and COCOeval's maxDets.
    """
    ecfg = cfg.evaluation
    thresholds = [float(t) for t in ecfg.iou_thresholds]
    max_dets = int(ecfg.max_detections)
    coco_max_dets = tuple(int(m) for m in ecfg.coco_max_dets)
    if len(eval_set) == 0:
        raise ValueError("the evaluation set holds no images")
    start = time.perf_counter()
    pred_rles, pred_scores, per_image = [], [], []
    ob = ecfg.overlap_boundary
    for image in tqdm(eval_set.images, desc=desc, disable=not progress, unit="img"):
        masks, scores = hypotheses_to_arrays(segment(image.load_rgb()), image.height, image.width)
        if len(scores) > max_dets:
            keep = np.sort(np.argsort(-scores, kind="stable")[:max_dets])
            masks, scores = masks[keep], scores[keep]
        pred_rles.append(encode_masks(masks))
        pred_scores.append(scores)
        hw = (image.height, image.width)
        gt = [Hypothesis(m, 1.0, (0, 0, 0, 0)) for m in decode_masks(image.gt_rles, *hw)]
        kept = [Hypothesis(m, s, (0, 0, 0, 0)) for m, s in zip(masks, scores) if s >= ob.min_score]
        per_image.append(image_metrics(label_image(kept, hw), label_image(gt, hw),
                                       ob.bound_th, ob.f_threshold))
    encoded = EncodedSet(pred_rles, pred_scores, [im.gt_rles for im in eval_set.images],
                         [(im.height, im.width) for im in eval_set.images])
    keys = [threshold_key(t) for t in thresholds]
    ap = {protocol: dict(zip(keys, average_precision(encoded, thresholds, protocol, coco_max_dets)))
          for protocol in PROTOCOLS}
    bins = ecfg.size_bins
    by_size = {protocol: {b: dict(zip(keys, v)) for b, v in
                          size_binned_ap(encoded, thresholds, protocol, bins, coco_max_dets).items()}
               for protocol in PROTOCOLS} if bins else None
    return MethodEvaluation(ap, encoded, [im.image_id for im in eval_set.images],
                            time.perf_counter() - start, coco_max_dets, by_size,
                            set_metrics(per_image))
