"""Oracle labels for the label-noise ablation (docs/learning.md), never for the product.

The same interactions as the difference labeller sees, with each view's label taken
from the renderer. Two oracles:

- ``lifted``: the mask of the object the gripper lifted (in I_t at the pick point, in
  I_t+1 at the place point), or a negative when nothing was lifted. A failed lift that
  nudged an object becomes a negative, so this oracle also changes *what* is labelled.
- ``moved``: what the difference labeller means to find, without its errors: the
  object that moved between the pair's two images nearest the point (the truth
  ``labeling/quality.py`` scores labels against), lifted or nudged, else a negative.
  The gap between this and difference labels is the cost of mask noise alone; the gap
  between this and ground-truth-supervised training is the cost of which objects and
  views the robot happens to see.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from seg_by_interaction.data.store import DatasetStore
from seg_by_interaction.labeling.quality import moved_objects
from seg_by_interaction.labeling.views import PAIR_PICK, PAIR_PLACE, LabeledView, _project
from seg_by_interaction.types import Frames

ORACLES = ("lifted", "moved")


def _views_from_ground_truth(before: Frames, after: Frames, pick_xy, place_xy, cfg: dict,
                             object_at: Callable, tag) -> list[LabeledView]:
    """Every camera's pick (I_t) and place (I_t+1) view, each labelled with the rendered
    mask of ``object_at(pair, camera, labelled_frames, point_px)`` (an arena id, or None
    for nothing); an object showing ``min_pixels`` or fewer is a negative, as the
    difference labeller's would be; pair-1 negatives follow ``pair1_negatives``."""
    lab = cfg.labeling
    min_px = int(lab.min_pixels)
    views = []
    for cam_id, cam in enumerate(before.cameras):
        for pair, frames, xy in ((PAIR_PICK, before, pick_xy), (PAIR_PLACE, after, place_xy)):
            px = _project(cam, xy)
            if px is None:
                continue
            mask = None
            obj = object_at(pair, cam_id, frames, px)
            if obj is not None:
                m = frames.gt_instances[cam_id] == int(obj)
                mask = m if int(m.sum()) > min_px else None
            if pair == PAIR_PLACE and mask is None and not bool(lab.pair1_negatives):
                continue
            views.append(LabeledView(cam_id, pair, frames.images[cam_id], px, mask,
                                     {"point_xy": [float(xy[0]), float(xy[1])], "oracle": tag}))
    return views


def oracle_views(before: Frames, after: Frames, pick_xy, place_xy, held_id: Optional[int],
                 cfg: dict) -> list[LabeledView]:
    """Views labelled from ground truth: ``held_id`` = arena id of the lifted object."""
    if before.gt_instances is None or after.gt_instances is None:
        raise ValueError("oracle labels need frames rendered with ground truth")
    return _views_from_ground_truth(before, after, pick_xy, place_xy, cfg,
                                    lambda pair, cam_id, frames, px: held_id, True)


def moved_oracle_views(before: Frames, held: Frames, after: Frames, pick_xy, place_xy,
                       cfg: dict) -> list[LabeledView]:
    """Views labelled with the renderer's mask of the object that moved at the point.

    Pair 0 compares I_t with I'_t+1 at the pick point (mask from I_t), pair 1 I'_t+1
    with I_t+1 at the place point (mask from I_t+1); "moved" and "nearest" are
    ``quality.moved_objects``'s, so these are the labels the quality benchmark counts
    as right."""
    for name, frames in (("before", before), ("held", held), ("after", after)):
        if frames.gt_instances is None:
            raise ValueError(f"moved-object oracle labels need ground truth in the {name} frames")
    lab = cfg.labeling
    window, changed = int(lab.window), float(lab.quality_changed_iou)

    def nearest_moved(pair, cam_id, frames, px):
        moved = moved_objects(frames.gt_instances[cam_id], held.gt_instances[cam_id], px, window, changed)
        return moved[0] if moved else None
    return _views_from_ground_truth(before, after, pick_xy, place_xy, cfg, nearest_moved, "moved")


class OracleLabeler:
    """Drop-in for InteractionLabeler in the in-process loop: stores oracle views
    (``oracle``: one of ORACLES)."""

    def __init__(self, store: DatasetStore, cfg: dict, split: str = "train", oracle: str = "lifted"):
        if oracle not in ORACLES:
            raise ValueError(f"oracle must be one of {ORACLES}, got {oracle!r}")
        self.store, self.cfg, self.split, self.oracle = store, cfg, split, oracle

    def label(self, robot_id, interaction_id, before, held, after, pick_xy, place_xy,
              source: str = "interaction", stamp=None, object_in_gripper=None, held_id=None):
        stored = []
        if self.oracle == "moved":
            views = moved_oracle_views(before, held, after, pick_xy, place_xy, self.cfg)
        else:
            views = oracle_views(before, after, pick_xy, place_xy, held_id, self.cfg)
        for view in views:
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


__all__ = ["ORACLES", "OracleLabeler", "moved_oracle_views", "oracle_views", "strip_ground_truth", "np"]
