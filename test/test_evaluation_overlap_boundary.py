"""Overlap / Boundary P/R/F and F@.75 (Xie et al.'s protocol) on hand-computed cases."""
import numpy as np
import pytest

from seg_by_interaction.evaluation.overlap_boundary import boundary_map, image_metrics, set_metrics


def square(shape, r0, c0, side, label=1, into=None):
    out = np.zeros(shape, np.uint16) if into is None else into
    out[r0:r0 + side, c0:c0 + side] = label
    return out


def test_identical_label_images_score_one_everywhere():
    gt = square((60, 60), 10, 10, 10)
    square((60, 60), 30, 30, 12, label=2, into=gt)
    m = image_metrics(gt.copy(), gt)
    assert all(m[k] == pytest.approx(1.0) for k in ("overlap_p", "overlap_r", "overlap_f",
                                                     "boundary_p", "boundary_r", "boundary_f",
                                                     "f_at_075"))


def test_half_an_object_and_a_shifted_one():
    gt = square((40, 40), 10, 10, 10)
    half = np.zeros_like(gt)
    half[10:20, 10:15] = 7                                 # the left half, another id
    m = image_metrics(half, gt)
    assert (m["overlap_p"], m["overlap_r"]) == (1.0, 0.5)
    assert m["overlap_f"] == pytest.approx(2 / 3) and m["f_at_075"] == 0.0   # F 2/3 < 0.75
    shifted = square((40, 40), 10, 11, 10)                 # one pixel to the right
    m = image_metrics(shifted, gt, bound_th=1)             # boundaries within 1 px count
    assert m["overlap_p"] == m["overlap_r"] == pytest.approx(0.9) and m["f_at_075"] == 1.0
    assert m["boundary_p"] == m["boundary_r"] == 1.0
    far = square((40, 40), 25, 25, 10)                     # no overlap at all
    m = image_metrics(far, gt, bound_th=1)
    assert m["overlap_f"] == 0.0 and m["boundary_f"] == 0.0 and m["f_at_075"] == 0.0


def test_a_merge_matches_one_object_and_a_false_positive_costs_precision():
    gt = square((50, 50), 5, 5, 10)
    square((50, 50), 5, 15, 10, label=2, into=gt)           # two touching 10x10 objects
    merged = np.where(gt > 0, 1, 0).astype(np.uint16)      # one prediction over both
    m = image_metrics(merged, gt)
    assert (m["overlap_p"], m["overlap_r"]) == (0.5, 0.5)  # matched to one of the two
    assert m["f_at_075"] == 0.0                            # that pair's F is 2/3
    extra = gt.copy()
    square((50, 50), 30, 30, 10, label=3, into=extra)       # a third, false object
    m = image_metrics(extra, gt)
    assert m["overlap_p"] == pytest.approx(200 / 300) and m["overlap_r"] == 1.0
    assert m["f_at_075"] == 1.0 and m["predicted"] == 3 and m["objects"] == 2


def test_empty_cases_follow_the_reference_conventions():
    gt = square((20, 20), 2, 2, 5)
    none = np.zeros_like(gt)
    assert image_metrics(none, gt)["overlap_p"] == 1.0 and image_metrics(none, gt)["overlap_r"] == 0.0
    assert image_metrics(gt, none)["overlap_p"] == 0.0 and image_metrics(gt, none)["overlap_r"] == 1.0
    both = image_metrics(none, none)
    assert both["overlap_f"] == both["boundary_f"] == both["f_at_075"] == 1.0
    with pytest.raises(ValueError, match="differ in size"):
        image_metrics(gt, np.zeros((10, 10), np.uint16))
    assert set_metrics([image_metrics(gt, gt), image_metrics(none, gt)])["overlap_f"] == 0.5


def test_boundary_map():
    m = np.zeros((6, 6), bool)
    m[1:4, 1:4] = True
    b = boundary_map(m)
    assert b[1:4, 3].all() and b[3, 1:4].all() and not b[2, 2]  # the inside is not boundary
