"""Matching on synthetic segment sets (Hungarian + rejection), descriptors and poses."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from seg_by_interaction.types import CameraModel
from seg_by_interaction.config import load_config
from seg_by_interaction.rearrangement.descriptors import (AppearanceDescriptor, make_descriptor,
                                                          rejection_threshold)
from seg_by_interaction.rearrangement.geometry import reachable, segment_pose
from seg_by_interaction.rearrangement.matching import (centroid, cost_matrix, match_segments,
                                                       pixel_distances)
from seg_by_interaction.types import Pose2D


def _pairs(matches):
    return sorted((m.current, m.target) for m in matches)


@pytest.mark.parametrize("seed", range(5))
def test_permutation_recovered(seed):
    rng = np.random.default_rng(seed)
    target = rng.normal(size=(7, 16))
    perm = rng.permutation(7)
    current = target[perm] + rng.normal(scale=0.05, size=(7, 16))   # shuffled, a little noisy
    matches = match_segments(cost_matrix(current, target), threshold=1.0)
    assert _pairs(matches) == sorted((i, int(perm[i])) for i in range(7))
    assert [m.cost for m in matches] == sorted(m.cost for m in matches)


def test_hungarian_beats_greedy():
    # greedy would give current 0 its nearest target 0 and leave current 1 with a bad pair
    cost = np.array([[1.0, 2.0], [1.1, 9.0]])
    assert _pairs(match_segments(cost, threshold=5.0)) == [(0, 1), (1, 0)]


def test_outliers_rejected():
    rng = np.random.default_rng(3)
    target = rng.normal(size=(4, 8))
    outliers = rng.normal(loc=20.0, size=(2, 8))                     # nothing like any target
    current = np.concatenate([target[[2, 0, 3, 1]], outliers])
    matches = match_segments(cost_matrix(current, target), threshold=1.0)
    assert _pairs(matches) == [(0, 2), (1, 0), (2, 3), (3, 1)]
    # a target without its current twin is left unmatched rather than forced onto an outlier
    matches = match_segments(cost_matrix(current[[0, 1, 4]], target), threshold=1.0)
    assert _pairs(matches) == [(0, 2), (1, 0)]


def test_rejection_prefers_leaving_both_unmatched():
    # threshold 0.5: (1,1) at 0.9 counts as 0.5, so (0,0) + nothing (0.7) beats
    # (0,1) + (1,0) (0.85); threshold 1.0: 0.2 + 0.9 = 1.1 loses to 0.85
    cost = np.array([[0.2, 0.4], [0.45, 0.9]])
    assert _pairs(match_segments(cost, threshold=0.5)) == [(0, 0)]
    assert _pairs(match_segments(cost, threshold=1.0)) == [(0, 1), (1, 0)]


def test_empty_and_bad_inputs():
    assert match_segments(np.zeros((0, 3)), 1.0) == []
    assert cost_matrix(np.zeros((0, 4)), np.ones((2, 4))).shape == (0, 2)
    with pytest.raises(ValueError, match="NaN"):
        match_segments(np.array([[np.nan]]), 1.0)
    with pytest.raises(ValueError, match="threshold"):
        match_segments(np.ones((1, 1)), -1.0)
    with pytest.raises(ValueError, match="lengths differ"):
        cost_matrix(np.ones((1, 3)), np.ones((1, 4)))


def test_pixel_distances_and_centroid():
    m = np.zeros((20, 30), bool)
    m[4:8, 10:14] = True
    assert centroid(m) == pytest.approx([11.5, 5.5])
    with pytest.raises(ValueError):
        centroid(np.zeros((3, 3), bool))
    matches = match_segments(np.array([[0.0, 1.0], [1.0, 0.0]]), 1.0)
    d = pixel_distances(matches, np.array([[0, 0], [10, 10]]), np.array([[3, 4], [10, 10]]))
    assert sorted(d.tolist()) == [0.0, 5.0]


def _scene(shapes, size=(120, 160)):
    """An RGB image on a grey table and one mask per (colour, centre, axes, angle)."""
    img = np.full(size + (3,), 120, np.uint8)
    masks = []
    for colour, centre, axes, angle in shapes:
        m = np.zeros(size, np.uint8)
        cv2.ellipse(m, centre, axes, angle, 0, 360, 1, -1)
        img[m > 0] = colour
        masks.append(m > 0)
    return img, masks


def test_appearance_descriptor_matches_moved_objects():
    cfg = load_config()
    rc = cfg["rearrangement"]
    describe = make_descriptor("appearance", rc)
    objects = [((200, 40, 40), (10, 12), 0), ((40, 160, 60), (20, 6), 30), ((40, 60, 200), (9, 9), 0),
               ((200, 40, 40), (24, 5), 90)]   # last: same colour as the first, other shape
    img_t, masks_t = _scene([(c, (25 + 35 * i, 40), ax, a) for i, (c, ax, a) in enumerate(objects)])
    # the same objects, shuffled around the table and turned
    where = [(130, 90), (30, 95), (80, 60), (60, 20)]
    img_c, masks_c = _scene([(c, where[i], ax, a + 45) for i, (c, ax, a) in enumerate(objects)][::-1])
    cost = cost_matrix(describe(img_c, masks_c), describe(img_t, masks_t))
    matches = match_segments(cost, rejection_threshold("appearance", rc))
    assert _pairs(matches) == [(0, 3), (1, 2), (2, 1), (3, 0)]
    # an object of a colour absent from the target is rejected, not matched
    img_x, masks_x = _scene([((230, 230, 30), (60, 60), (12, 10), 0)])
    assert match_segments(cost_matrix(describe(img_x, masks_x), describe(img_t, masks_t)),
                          rejection_threshold("appearance", rc)) == []


def test_descriptor_errors():
    rc = load_config()["rearrangement"]
    d = AppearanceDescriptor.from_config(rc)
    assert d(np.zeros((5, 5, 3), np.uint8), []).shape == (0, d.length)
    with pytest.raises(ValueError, match="fit the image"):
        d(np.zeros((5, 5, 3), np.uint8), [np.ones((4, 4), bool)])
    with pytest.raises(ValueError, match="trunk"):
        make_descriptor("trunk", rc, model=None)
    with pytest.raises(ValueError, match="unknown descriptor"):
        make_descriptor("alexnet", rc)


def test_trunk_descriptor_same_segment_closest():
    from seg_by_interaction.perception.inference import build_model
    cfg = load_config()
    describe = make_descriptor("trunk", cfg["rearrangement"], model=build_model(cfg))
    img, masks = _scene([((200, 40, 40), (30, 40), (12, 12), 0), ((40, 60, 200), (120, 70), (14, 10), 0)])
    desc = describe(img, masks)
    assert desc.shape[0] == 2 and np.allclose(np.linalg.norm(desc, axis=1), 1.0)
    assert describe(img, []).shape == (0, desc.shape[1])
    cost = cost_matrix(desc, describe(img, masks))
    assert np.allclose(np.diag(cost), 0.0, atol=1e-5) and cost[0, 1] > 0.01


def test_segment_pose_top_down_camera():
    # 1 m above the arena looking straight down: 500 px per metre at the table
    K = np.array([[500.0, 0, 80], [0, 500.0, 60], [0, 0, 1]])
    cam = CameraModel(160, 120, K=K, R=np.diag([1.0, -1.0, -1.0]), t=np.array([0.0, 0.0, 1.0]))
    m = np.zeros((120, 160), np.uint8)
    cv2.ellipse(m, (100, 40), (25, 8), 0, 0, 360, 1, -1)     # long axis along image x
    on_table = segment_pose(m > 0, cam, 20, plane_height=0.0)
    assert (on_table.x, on_table.y) == pytest.approx((20 / 500, 20 / 500), abs=1e-3)
    assert on_table.theta == pytest.approx(math.pi / 2, abs=0.05)   # jaws across the long axis
    raised = segment_pose(m > 0, cam, 20, plane_height=0.1)              # 0.9 m from the camera
    assert (raised.x, raised.y) == pytest.approx((0.9 * 20 / 500, 0.9 * 20 / 500), abs=1e-3)
    with pytest.raises(ValueError):
        segment_pose(np.zeros((120, 160), bool), cam, 20)
    with pytest.raises(ValueError, match="at least"):
        segment_pose(m > 0, cam, int(m.sum()) + 1)                  # under the caller's minimum


def test_planners_take_the_grasp_minimum_from_their_config():
    from sbi_research.config import load_config as load_research_config
    from sbi_research.rearrangement.baseline import DifferenceRearranger
    from seg_by_interaction.rearrangement.planner import Rearranger
    cfg = load_research_config(overrides={"grasping.min_pixels": 123})
    assert Rearranger.from_config(cfg, steps=None).grasp_min_pixels == 123
    assert DifferenceRearranger.from_config(cfg, steps=None).grasp_min_pixels == 123


def test_reachable_clamps_within_slack():
    ws = (-0.2, 0.2, -0.2, 0.2)
    assert reachable(Pose2D(0.1, 0.0, 1.0), ws, 0.03) == Pose2D(0.1, 0.0, 1.0)
    assert reachable(Pose2D(0.22, -0.21, 1.0), ws, 0.03) == Pose2D(0.2, -0.2, 1.0)
    assert reachable(Pose2D(0.3, 0.0, 1.0), ws, 0.03) is None
