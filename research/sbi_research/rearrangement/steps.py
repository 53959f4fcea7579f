"""Steps for arena episodes without ROS: the interaction loop's ``LocalSteps``, and a
variant whose segmenter is the renderer's instance map (the upper bound: perfect
segments, everything else — grasping, matching, placing — as for a learned model)."""
from __future__ import annotations

import numpy as np

from seg_by_interaction.loop.local_steps import LocalSteps
from seg_by_interaction.perception.nms import mask_box
from seg_by_interaction.types import Frames, Hypothesis


def ground_truth_hypotheses(instances: np.ndarray, min_pixels: int) -> list[Hypothesis]:
    """One score-1 hypothesis per arena object showing at least ``min_pixels`` pixels."""
    out = []
    ids, counts = np.unique(np.asarray(instances), return_counts=True)
    for obj, count in zip(ids, counts):
        if obj <= 0 or count < min_pixels:
            continue
        mask = instances == obj
        out.append(Hypothesis(mask=mask, score=1.0, box=mask_box(mask)))
    return out


class GroundTruthSteps(LocalSteps):
    """LocalSteps that capture the instance maps too and segment with them."""

    def __init__(self, arena, robot, cfg: dict):
        super().__init__(arena, robot, segmenter=None, cfg=cfg)
        self.min_pixels = int(cfg.rearrangement.min_segment_pixels)

    def capture(self) -> Frames:
        return self.arena.render(include_ground_truth=True)

    def segment(self, frames: Frames, camera: int):
        if frames.gt_instances is None:
            raise ValueError("ground-truth segments need a frame set rendered with instance maps")
        return ground_truth_hypotheses(frames.gt_instances[camera], self.min_pixels), 0
