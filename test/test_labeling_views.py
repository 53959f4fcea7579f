"""label_interaction: per-camera projection, which image/point each pair labels; quality scoring."""
import re

import numpy as np
import pytest

from seg_by_interaction.types import CameraModel
from seg_by_interaction.config import load_config
from seg_by_interaction.labeling.quality import assess_view, summarize
from seg_by_interaction.labeling.views import PAIR_PICK, PAIR_PLACE, label_interaction
from seg_by_interaction.types import Frames

H, W = 350, 430
CAMS = [CameraModel.from_homography([[400, 0, 215], [0, -400, 175], [0, 0, 1]], W, H),
        CameraModel.from_homography([[400, 0, -30], [0, -400, 175], [0, 0, 1]], W, H)]
PICK, PLACE, OTHER = (0.0, 0.0), (0.2, 0.1), (-0.2, -0.15)


def disk_gt(cam, items):
    gt = np.zeros((H, W), np.int32)
    yy, xx = np.mgrid[0:H, 0:W]
    for obj_id, xy in items:
        u, v = cam.project(np.array([xy]))[0]
        gt[(xx - u) ** 2 + (yy - v) ** 2 < 30 ** 2] = obj_id
    return gt


def render(gt, rng):
    colours = np.array([[150, 140, 120], [200, 40, 40], [40, 60, 200]], np.float32)
    img = colours[gt] + rng.normal(0, 2, (H, W, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def frames(items, rng, stamp):
    gts = [disk_gt(c, items) for c in CAMS]
    return Frames(images=[render(g, rng) for g in gts], stamp=stamp, cameras=CAMS, gt_instances=gts)


@pytest.fixture
def interaction():
    rng = np.random.default_rng(0)
    before = frames([(1, PICK), (2, OTHER)], rng, 0.0)
    held = frames([(2, OTHER)], rng, 1.0)
    after = frames([(1, PLACE), (2, OTHER)], rng, 2.0)
    return before, held, after


def test_pairs_label_the_right_image_at_the_right_point(interaction):
    before, held, after = interaction
    cfg = load_config()
    views = label_interaction(before, held, after, PICK, cfg, place_xy=PLACE)
    got = {(v.camera, v.pair) for v in views}
    # camera 1 sees the place point but not the pick point
    assert got == {(0, PAIR_PICK), (0, PAIR_PLACE), (1, PAIR_PLACE)}
    for v in views:
        assert v.positive
        gt = (before if v.pair == PAIR_PICK else after).gt_instances[v.camera]
        assert v.image is (before if v.pair == PAIR_PICK else after).images[v.camera]
        obj = gt == 1
        assert (v.mask & obj).sum() / (v.mask | obj).sum() > 0.85
        u, v_ = CAMS[v.camera].project(np.array([PICK if v.pair == PAIR_PICK else PLACE]))[0]
        assert v.pick_px == pytest.approx((u, v_))
        ex = v.to_example(robot_id="sim0")
        assert ex.positive and ex.meta["camera"] == v.camera and ex.meta["pair"] == v.pair


def test_failed_pick_gives_negatives_and_no_pair1(interaction):
    before, _, _ = interaction
    views = label_interaction(before, before, before, PICK, load_config(), place_xy=PLACE)
    assert [(v.camera, v.pair, v.positive) for v in views] == [(0, PAIR_PICK, False)]
    views = label_interaction(before, before, before, PICK,
                              load_config(overrides={"labeling.pair1_negatives": True}),
                              place_xy=PLACE)
    assert {(v.camera, v.pair) for v in views} == {(0, 0), (0, 1), (1, 1)}


def test_quality_scores_iou_merge_and_errors(interaction):
    before, held, after = interaction
    cfg = load_config()
    gt_b, gt_h = before.gt_instances[0], held.gt_instances[0]
    pick_px = CAMS[0].project(np.array([PICK]))[0]
    good = assess_view(gt_b == 1, gt_b, gt_h, pick_px, cfg)
    assert good.truth_positive and good.iou == pytest.approx(1.0) and not good.merged
    merged = assess_view((gt_b == 1) | (gt_b == 2), gt_b, gt_h, pick_px, cfg)
    assert merged.merged
    missed = assess_view(None, gt_b, gt_h, pick_px, cfg)
    assert missed.false_negative
    lit = assess_view(gt_b == 1, gt_b, gt_b, pick_px, cfg)     # nothing moved, yet a mask
    assert lit.false_positive and lit.iou is None
    s = summarize([good, merged, missed, lit])
    assert s["false_negative_rate"] == pytest.approx(1 / 3)
    assert s["false_positive_rate"] == pytest.approx(1.0)
    assert s["merged_rate"] == pytest.approx(1 / 3)


def test_views_that_contradict_the_gripper_are_dropped(interaction):
    before, held, after = interaction
    neg = load_config(overrides={"labeling.use_gripper": "negatives"})
    both = load_config(overrides={"labeling.use_gripper": "both"})
    # the jaws held something, yet pair 0 saw nothing move: that view is no negative
    views = label_interaction(before, before, before, PICK, neg, place_xy=PLACE, object_in_gripper=True)
    assert views == []
    views = label_interaction(before, before, before, PICK, neg, place_xy=PLACE, object_in_gripper=False)
    assert [(v.camera, v.pair, v.positive) for v in views] == [(0, PAIR_PICK, False)]
    # the jaws closed on nothing, yet something moved: kept by "negatives", dropped by "both"
    assert len(label_interaction(before, held, after, PICK, neg, place_xy=PLACE, object_in_gripper=False)) == 3
    assert label_interaction(before, held, after, PICK, both, place_xy=PLACE, object_in_gripper=False) == []
    # unknown reading: nothing dropped
    assert len(label_interaction(before, held, after, PICK, both, place_xy=PLACE)) == 3
    with pytest.raises(ValueError, match="use_gripper"):
        label_interaction(before, held, after, PICK, load_config(overrides={"labeling.use_gripper": "x"}),
                          place_xy=PLACE)


def test_oracle_views_use_the_lifted_objects_ground_truth(interaction):
    from sbi_research.oracle import oracle_views
    before, _, after = interaction
    cfg = load_config()
    views = oracle_views(before, after, PICK, PLACE, held_id=1, cfg=cfg)
    assert {(v.camera, v.pair) for v in views} == {(0, PAIR_PICK), (0, PAIR_PLACE), (1, PAIR_PLACE)}
    for v in views:
        gt = (before if v.pair == PAIR_PICK else after).gt_instances[v.camera]
        assert np.array_equal(v.mask, gt == 1)
    nothing = oracle_views(before, after, PICK, PLACE, held_id=None, cfg=cfg)
    assert [(v.camera, v.pair, v.positive) for v in nothing] == [(0, PAIR_PICK, False)]


def test_moved_oracle_labels_a_nudged_object_the_lifted_oracle_calls_negative(interaction):
    """The two oracles differ on a failed lift that nudged the object: "lifted" stores a
    negative at the pick point, "moved" the nudged object's rendered mask."""
    from sbi_research.oracle import moved_oracle_views, oracle_views
    before, held, after = interaction
    cfg = load_config()
    # a successful pick and place: both oracles give the lifted object's masks
    views = moved_oracle_views(before, held, after, PICK, PLACE, cfg)
    assert {(v.camera, v.pair) for v in views} == {(0, PAIR_PICK), (0, PAIR_PLACE), (1, PAIR_PLACE)}
    for v in views:
        gt = (before if v.pair == PAIR_PICK else after).gt_instances[v.camera]
        assert np.array_equal(v.mask, gt == 1)
    # the jaws closed on nothing but pushed object 1 by 3 cm
    rng = np.random.default_rng(1)
    nudged = frames([(1, (0.03, 0.0)), (2, OTHER)], rng, 1.0)
    views = moved_oracle_views(before, nudged, nudged, PICK, PLACE, cfg)
    assert [(v.camera, v.pair) for v in views] == [(0, PAIR_PICK)]
    assert np.array_equal(views[0].mask, before.gt_instances[0] == 1)
    lifted = oracle_views(before, nudged, PICK, PLACE, held_id=None, cfg=cfg)
    assert [(v.camera, v.pair, v.positive) for v in lifted] == [(0, PAIR_PICK, False)]
    # nothing moved: a negative at the pick point, nothing at the place point
    still = moved_oracle_views(before, before, before, PICK, PLACE, cfg)
    assert [(v.camera, v.pair, v.positive) for v in still] == [(0, PAIR_PICK, False)]
    bare = Frames(images=held.images, stamp=1.0, cameras=CAMS)
    with pytest.raises(ValueError, match="ground truth in the held frames"):
        moved_oracle_views(before, bare, after, PICK, PLACE, cfg)


@pytest.mark.parametrize("pick, place, what", [
    ((float("nan"), 0.0), PLACE, "grasp point (nan, 0.0) is not finite"),
    ((5.0, -5.0), PLACE, "outside every camera's view"),
    (PICK, (0.0, float("inf")), "place point (0.0, inf) is not finite"),
    (PICK, (-7.0, 3.0), "place point (-7.000, 3.000) m is outside every camera's view"),
])
def test_points_no_camera_could_see_are_refused(interaction, pick, place, what):
    """A record whose grasp or place is NaN or off the arena is a bad record, not 0 views."""
    before, held, after = interaction
    with pytest.raises(ValueError, match=re.escape(what)):
        label_interaction(before, held, after, pick, load_config(), place_xy=place)
