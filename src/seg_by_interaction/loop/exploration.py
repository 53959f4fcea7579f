"""Proposals the model misses: what a robot adapting to a new table should also try.

The loop picks among the model's hypotheses, so an object the model never proposes (a white
cube on a pale table) is never picked, never labelled, never learnt. ``MissedProposals``
offers the bottom-up segmenter's proposals (Felzenszwalb + grouping, with its size and edge
filters) that no hypothesis covers; the loop tries one of them on ``adapt.explore_fraction``
of a run's interactions when the run started from a model.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from pycocotools import mask as mask_utils

from seg_by_interaction.evaluation.bottom_up import BottomUpSegmenter
from seg_by_interaction.evaluation.metrics import encode_masks
from seg_by_interaction.types import Hypothesis


def _rles(hyps: Sequence[Hypothesis]) -> list:
    return encode_masks(np.stack([np.asarray(h.mask, dtype=bool) for h in hyps]))


class MissedProposals:
    def __init__(self, cfg, max_overlap: float | None = None):
        self.segmenter = BottomUpSegmenter(cfg, tuned=True)
        self.max_overlap = float(cfg.adapt.explore_max_overlap if max_overlap is None
                                 else max_overlap)

    def __call__(self, image: np.ndarray, hypotheses: Sequence[Hypothesis]) -> list[Hypothesis]:
        """Bottom-up proposals of ``image`` (best first) whose IoU with every hypothesis is at
        most ``max_overlap``."""
        proposals = self.segmenter.segment(image)
        if not proposals or not hypotheses:
            return list(proposals)
        shape = np.asarray(proposals[0].mask).shape
        same = [h for h in hypotheses if np.asarray(h.mask).shape == shape]
        if not same:
            return list(proposals)
        ious = mask_utils.iou(_rles(proposals), _rles(same), [0] * len(same))
        ious = np.asarray(ious).reshape(len(proposals), len(same))
        return [p for p, row in zip(proposals, ious) if float(row.max()) <= self.max_overlap]
