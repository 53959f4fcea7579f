"""labeling.cross_view: a mask that merged a disturbed neighbour reaches farther across the
table than the other views' masks of the same object, and is dropped; consistent views stay."""
from __future__ import annotations

import numpy as np
import pytest

from seg_by_interaction.config import load_config
from seg_by_interaction.labeling.consistency import plane_reach, reject_inconsistent
from seg_by_interaction.labeling.views import PAIR_PICK, PAIR_PLACE, LabeledView
from seg_by_interaction.sim.camera_layout import make_cameras

CFG = load_config(overrides={"labeling.cross_view.enabled": True})
CAMS = [c.model for c in make_cameras(CFG)]
PICK = (0.02, -0.01)


def footprint(cam, discs):
    """The camera's image of flat discs ((x, y), radius m) lying on the table."""
    h, w = cam.height, cam.width
    rows, cols = np.mgrid[0:h, 0:w]
    xy = cam.pixel_to_plane(np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5])).reshape(h, w, 2)
    mask = np.zeros((h, w), bool)
    for (x, y), r in discs:
        mask |= np.hypot(xy[..., 0] - x, xy[..., 1] - y) < r
    return mask


def view(cam_id, pair, discs, point=PICK):
    mask = footprint(CAMS[cam_id], discs) if discs else None
    return LabeledView(cam_id, pair, np.zeros((1, 1, 3), np.uint8), (0.0, 0.0), mask,
                       {"point_xy": list(point)})


def test_plane_reach_measures_metres_on_the_table():
    mask = footprint(CAMS[0], [(PICK, 0.03)])
    assert plane_reach(mask, CAMS[0], PICK, 100) == pytest.approx(0.03, abs=0.003)
    assert plane_reach(np.zeros_like(mask), CAMS[0], PICK, 95) == 0.0


def test_a_merged_view_is_dropped_and_the_consistent_ones_kept():
    obj, neighbour = (PICK, 0.03), ((PICK[0] + 0.06, PICK[1] + 0.01), 0.03)
    views = [view(0, PAIR_PICK, [obj]), view(1, PAIR_PICK, [obj, neighbour]),   # merged in cam 1
             view(2, PAIR_PICK, [obj]), view(3, PAIR_PICK, [obj]),
             view(0, PAIR_PLACE, None)]                                        # a negative
    kept = reject_inconsistent(views, CAMS, CFG["labeling"])
    assert [(v.camera, v.pair) for v in kept] == [(0, 0), (2, 0), (3, 0), (0, 1)]
    assert all(v.meta["plane_reach_m"] < 0.04 for v in kept if v.positive)


def test_pairs_are_judged_separately_and_only_with_enough_views():
    obj, big = (PICK, 0.03), (PICK, 0.07)
    place = (-0.05, 0.04)
    views = [view(0, PAIR_PICK, [obj]), view(1, PAIR_PICK, [big]),             # 2 views: not judged
             view(0, PAIR_PLACE, [(place, 0.03)], place), view(1, PAIR_PLACE, [(place, 0.03)], place),
             view(2, PAIR_PLACE, [(place, 0.03)], place)]
    assert len(reject_inconsistent(views, CAMS, CFG["labeling"])) == 5
    with pytest.raises(ValueError, match="cross_view"):
        bad = load_config(overrides={"labeling.cross_view.max_reach_ratio": 0.9})
        reject_inconsistent(views, CAMS, bad.labeling)
