"""One interaction -> up to 8 labelled views (4 cameras x 2 image pairs).

Pair 0 compares I_t with I'_t+1 (object held out of view) at the PICK point: the
mask belongs to I_t, where the object still lay. Pair 1 compares I'_t+1 with
I_t+1 at the PLACE point: the object reappears there, so the mask belongs to
I_t+1 and is centred on the place point. A pair-1 "nothing appeared" says
nothing about what lies at the place point (an unmoved object may be there), so
it is kept as a negative only when ``labeling.pair1_negatives`` is true.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import cv2
import numpy as np

from seg_by_interaction.labeling.consistency import reject_inconsistent
from seg_by_interaction.labeling.difference import difference_mask
from seg_by_interaction.types import Example, Frames

PAIR_PICK = 0    # (I_t, I'_t+1), mask of I_t at the pick point
PAIR_PLACE = 1   # (I'_t+1, I_t+1), mask of I_t+1 at the place point


@dataclass
class LabeledView:
    """The label of one camera and one image pair."""
    camera: int
    pair: int
    image: np.ndarray                  # the image the mask belongs to (I_t or I_t+1)
    pick_px: tuple[float, float]       # the pick (pair 0) or place (pair 1) point in that image
    mask: Optional[np.ndarray]         # None = nothing moved there (a negative)
    meta: dict = field(default_factory=dict)

    @property
    def positive(self) -> bool:
        return self.mask is not None

    def to_example(self, source: str = "interaction", **meta) -> Example:
        m = dict(self.meta, camera=self.camera, pair=self.pair)
        m.update(meta)
        return Example(image=self.image, pick_px=self.pick_px, mask=self.mask, source=source, meta=m)


def _check_frames(name: str, frames: Frames, n: int) -> None:
    if len(frames.images) != n:
        raise ValueError(f"{name} has {len(frames.images)} images, expected {n} (one per camera)")


def _project(camera, xy) -> Optional[tuple[float, float]]:
    px = camera.project(np.asarray([[float(xy[0]), float(xy[1])]]))
    if not camera.in_image(px)[0]:
        return None
    return float(px[0, 0]), float(px[0, 1])


def _check_point(name: str, xy, cameras) -> None:
    """Refuse a point that cannot be where the robot acted: not finite, or seen by no camera.

    Views whose camera misses the point are skipped one by one; a point that every camera
    misses (a grasp at (5, -5)) is a bad record, not an interaction with no views."""
    try:
        x, y = float(xy[0]), float(xy[1])
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"{name} point {xy!r} is not an (x, y) pair") from exc
    if not (np.isfinite(x) and np.isfinite(y)):
        raise ValueError(f"{name} point ({x}, {y}) is not finite")
    if not any(_project(cam, (x, y)) is not None for cam in cameras):
        raise ValueError(f"{name} point ({x:.3f}, {y:.3f}) m is outside every camera's view")


def px_per_m(camera, xy, step: float = 0.005) -> float:
    """Image scale at table point ``xy``: pixels per metre (square root of the plane->image
    Jacobian's determinant)."""
    x, y = float(xy[0]), float(xy[1])
    p0, px, py = camera.project(np.array([[x, y], [x + step, y], [x, y + step]]))
    return float(np.sqrt(abs(np.linalg.det(np.column_stack([px - p0, py - p0])))) / step)


def _scaled_difference(a: np.ndarray, b: np.ndarray, point_px, camera, xy, lab) -> Optional[np.ndarray]:
    """difference_mask, with the view first resampled into ``labeling.px_per_m_range`` when
    its scale lies outside (a camera nearer, farther or finer than the standard rig's): the
    labeller's pixel settings then mean the same object sizes. The mask comes back at the
    view's own resolution."""
    lo, hi = (float(v) for v in lab["px_per_m_range"])
    scale = px_per_m(camera, xy)
    f = float(np.clip(scale, lo, hi)) / scale
    if abs(f - 1.0) < 1e-6:
        return difference_mask(a, b, point_px, lab)
    h, w = a.shape[:2]
    size = (max(8, int(round(w * f))), max(8, int(round(h * f))))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
    mask = difference_mask(cv2.resize(a, size, interpolation=interp),
                           cv2.resize(b, size, interpolation=interp),
                           (point_px[0] * size[0] / w, point_px[1] * size[1] / h), lab)
    if mask is None:
        return None
    back = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    return back if back.any() else None


def _agrees_with_gripper(mask, held: Optional[bool], mode: str) -> bool:
    """Whether a view's label may be kept given what the gripper felt (``held``: the
    jaws stopped on something; None = unknown). ``negatives``: a view that saw nothing
    move while the jaws held an object is dropped, not stored as "no object here" (the
    object resembled the table, or moved out of that view's window); ``both``: also a
    mask when the jaws closed on nothing (a nudged or dragged neighbour, not a pick)."""
    if held is None or mode == "none":
        return True
    if mask is None:
        return not held
    return held or mode != "both"


def label_interaction(before: Frames, held: Frames, after: Frames, pick_xy,
                      cfg: Mapping, place_xy=None,
                      object_in_gripper: Optional[bool] = None) -> list[LabeledView]:
    """Label every camera's view of one pick/place interaction.

    ``pick_xy``/``place_xy`` are arena metres; each is projected into each camera
    with its CameraModel (``before.cameras``). Views where the point falls outside
    the image are skipped; pair 1 needs ``place_xy``. ``object_in_gripper`` (the
    gripper's own reading) drops views that contradict it (``labeling.use_gripper``);
    ``labeling.cross_view`` drops masks that reach much farther than the other views'.
    """
    lab = cfg.labeling if "labeling" in cfg else cfg
    n = len(before.images)
    _check_frames("held", held, n)
    _check_frames("after", after, n)
    if len(before.cameras) != n:
        raise ValueError(f"before has {len(before.cameras)} camera models for {n} images")
    _check_point("grasp", pick_xy, before.cameras)
    if place_xy is not None:
        _check_point("place", place_xy, before.cameras)
    gripper_mode = str(lab["use_gripper"])
    if gripper_mode not in ("none", "negatives", "both"):
        raise ValueError(f"labeling.use_gripper must be none, negatives or both, got {gripper_mode!r}")
    views: list[LabeledView] = []
    for cam_id, cam in enumerate(before.cameras):
        pick_px = _project(cam, pick_xy)
        if pick_px is not None:
            mask = _scaled_difference(before.images[cam_id], held.images[cam_id], pick_px, cam,
                                      pick_xy, lab)
            if _agrees_with_gripper(mask, object_in_gripper, gripper_mode):
                views.append(LabeledView(cam_id, PAIR_PICK, before.images[cam_id], pick_px, mask,
                                         {"point_xy": [float(pick_xy[0]), float(pick_xy[1])]}))
        if place_xy is None:
            continue
        place_px = _project(cam, place_xy)
        if place_px is not None:
            mask = _scaled_difference(held.images[cam_id], after.images[cam_id], place_px, cam,
                                      place_xy, lab)
            keep = mask is not None or bool(lab["pair1_negatives"])
            if keep and _agrees_with_gripper(mask, object_in_gripper, gripper_mode):
                views.append(LabeledView(cam_id, PAIR_PLACE, after.images[cam_id], place_px, mask,
                                         {"point_xy": [float(place_xy[0]), float(place_xy[1])]}))
    if bool(lab["cross_view"]["enabled"]):
        views = reject_inconsistent(views, before.cameras, lab)
    return views
