"""Evaluation: class-agnostic mask AP (authors' VOC07 and COCO protocols), the
bottom-up baselines, the evaluator over a COCO-format held-out set, and the report
(``seg_by_interaction.evaluation.report``, imported on its own: it pulls matplotlib)."""
from seg_by_interaction.evaluation.bottom_up import BottomUpSegmenter
from seg_by_interaction.evaluation.eval_set import EvalImage, EvalSet
from seg_by_interaction.evaluation.evaluator import (
    MethodEvaluation, evaluate_segmenter, threshold_key)
from seg_by_interaction.evaluation.metrics import (
    PROTOCOLS, decode_masks, encode_masks, mask_ap, precision_recall_curve, recall_at_precision)

__all__ = ["PROTOCOLS", "mask_ap", "precision_recall_curve", "recall_at_precision",
           "encode_masks", "decode_masks", "BottomUpSegmenter", "EvalSet", "EvalImage",
           "MethodEvaluation", "evaluate_segmenter", "threshold_key"]
