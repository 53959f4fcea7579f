"""Oracle labels for the label-noise ablation (docs/learning.md), never for the product.

The same interactions as the difference labeller sees, but each view's label is the
renderer's mask of the object the gripper lifted (in I_t at the pick point, in I_t+1
at the place point), or a negative when nothing was lifted. The gap between a run
trained on these and one on difference labels is the cost of label noise; the gap
between these and ground-truth-supervised training is the cost of which objects and
views the robot happens to see.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from seg_by_interaction.data.store import DatasetStore
from seg_by_interaction.labeling.views import PAIR_PICK, PAIR_PLACE, LabeledView, _project
from seg_by_interaction.types import Frames


def oracle_views(before: Frames, after: Frames, pick_xy, place_xy, held_id: Optional[int],
                 cfg: dict) -> list[LabeledView]:
    """Views labelled from ground truth: ``held_id`` = arena id of the lifted object."""
    if before.gt_instances is None or after.gt_instances is None:
        raise ValueError("oracle labels need frames rendered with ground truth")
    lab = cfg["labeling"]
    min_px = int(lab["min_pixels"])
    views = []
    for cam_id, cam in enumerate(before.cameras):
        for pair, frames, xy in ((PAIR_PICK, before, pick_xy), (PAIR_PLACE, after, place_xy)):
            px = _project(cam, xy)
            if px is None:
                continue
            mask = None
            if held_id is not None:
                m = frames.gt_instances[cam_id] == int(held_id)
                mask = m if int(m.sum()) > min_px else None
            if pair == PAIR_PLACE and mask is None and not bool(lab["pair1_negatives"]):
                continue
            views.append(LabeledView(cam_id, pair, frames.images[cam_id], px, mask,
                                     {"point_xy": [float(xy[0]), float(xy[1])], "oracle": True}))
    return views


class OracleLabeler:
    """Drop-in for InteractionLabeler in the in-process loop: stores oracle views."""

    def __init__(self, store: DatasetStore, cfg: dict, split: str = "train"):
        self.store, self.cfg, self.split = store, cfg, split

    def label(self, robot_id, interaction_id, before, held, after, pick_xy, place_xy,
              source: str = "interaction", stamp=None, object_in_gripper=None, held_id=None):
        stored = []
        for view in oracle_views(before, after, pick_xy, place_xy, held_id, self.cfg):
            eid = self.store.add_example(view.image, view.pick_px, view.mask, robot_id=robot_id,
                                         interaction_id=str(interaction_id), camera=view.camera,
                                         pair=view.pair, source=source, split=self.split,
                                         stamp=before.stamp, meta=view.meta)
            stored.append((eid, view))
        return stored


def strip_ground_truth(frames: Optional[Frames]) -> Optional[Frames]:
    """The frames without their ground truth (what the learner may see)."""
    if frames is None:
        return None
    return Frames(images=frames.images, stamp=frames.stamp, cameras=frames.cameras)


__all__ = ["OracleLabeler", "oracle_views", "strip_ground_truth", "np"]
