"""Pasting and NMS at image borders; input validation; model shapes."""
import numpy as np
import pytest
import torch

from seg_by_interaction.config import load_config
from seg_by_interaction.perception.inference import Segmenter, build_model, load_segmenter
from seg_by_interaction.perception.nms import greedy_mask_nms, mask_box, paste_mask


def test_paste_inside_matches_upsampled_window():
    prob = np.zeros((4, 4), np.float32)
    prob[:2, :2] = 1.0
    out = paste_mask(prob, 10, 20, 40, (100, 100), 0.6)
    assert out.shape == (100, 100)
    ys, xs = np.nonzero(out)
    assert xs.min() == 10 and ys.min() == 20
    assert 25 <= xs.max() <= 31 and 35 <= ys.max() <= 41
    assert not out[60:].any() and not out[:, 60:].any()


@pytest.mark.parametrize("x0,y0", [(-20, -20), (80, 70), (-20, 70), (80, -20)])
def test_paste_at_borders_keeps_the_visible_part(x0, y0):
    prob = np.ones((8, 8), np.float32)
    out = paste_mask(prob, x0, y0, 40, (90, 100), 0.6)
    expect = np.zeros((90, 100), bool)
    expect[max(y0, 0):min(y0 + 40, 90), max(x0, 0):min(x0 + 40, 100)] = True
    assert np.array_equal(out, expect)


def test_paste_entirely_outside_is_empty():
    assert not paste_mask(np.ones((4, 4)), 200, 200, 40, (100, 100), 0.6).any()


def test_greedy_nms_at_borders():
    h, w = 60, 80
    masks = np.zeros((4, h, w), bool)
    masks[0, :20, :20] = True           # corner object
    masks[1, :18, :14] = True           # inside 0 (suppressed with it), IoU 72/580 with 3
    masks[2, 40:, 60:] = True           # opposite corner
    masks[3, :20, 10:30] = True         # overlaps 0 with IoU 1/3 > 0.3
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    keep = greedy_mask_nms(masks, scores, 0.3)
    assert keep == [3, 1, 2]            # 3 suppresses 0 (IoU 1/3); 1 overlaps only 0 much
    assert greedy_mask_nms(masks, scores, 0.3, max_keep=2) == [3, 1]
    assert mask_box(masks[2]) == (60, 40, 80, 60)


def test_segment_validates_input_and_returns_full_resolution():
    cfg = load_config()
    seg = load_segmenter(None, cfg)  # untrained model: seeded random init
    for bad in [np.zeros((0, 10, 3), np.uint8), np.zeros((10, 10), np.uint8),
                np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32), [1, 2]]:
        with pytest.raises(ValueError):
            seg.segment(bad)
    img = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)
    hyps = seg.segment(img, min_score=0.0)
    for h in hyps:
        assert h.mask.shape == (37, 53) and h.mask.dtype == bool
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)


def test_untrained_model_is_seeded():
    cfg = load_config()
    a, b = build_model(cfg), build_model(cfg)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_model_shapes():
    cfg = load_config()
    model = build_model(cfg)
    w = cfg["model"]["window"]
    scores, masks = model(torch.zeros(2, 3, w, w))
    assert scores.shape == (2,)
    assert masks.shape == (2, cfg["model"]["mask_size"], cfg["model"]["mask_size"])
    with pytest.raises(ValueError, match="windows must be"):
        model(torch.zeros(1, 3, w + 16, w + 16))


def test_superpixel_snapping_moves_a_blocky_boundary_onto_the_object():
    from seg_by_interaction.config import load_config
    from seg_by_interaction.perception.refine import SuperpixelSnapper
    cfg = load_config()
    image = np.full((120, 160, 3), 200, np.uint8)
    image[30:90, 40:100] = (30, 90, 160)                 # one flat object
    obj = np.zeros((120, 160), bool)
    obj[30:90, 40:100] = True
    coarse = np.zeros_like(obj)
    coarse[24:80, 44:110] = True                         # blocky, shifted estimate
    # no smoothing: a synthetic step edge would otherwise form thin band superpixels
    snapper = SuperpixelSnapper({**cfg["inference"]["refine"], "felzenszwalb_sigma": 0.0})
    snapped = snapper.snap(image, coarse[None])[0]
    iou = lambda a, b: (a & b).sum() / (a | b).sum()
    assert iou(coarse, obj) < 0.75
    assert iou(snapped, obj) > 0.95
    # a mask that covers a region only marginally does not grab it
    sliver = np.zeros_like(obj)
    sliver[30:40, 40:100] = True
    assert not snapper.snap(image, sliver[None])[0].any()
    off = SuperpixelSnapper({**cfg["inference"]["refine"], "enabled": False})
    assert (off.snap(image, coarse[None])[0] == coarse).all()
    with pytest.raises(ValueError):
        snapper.snap(image, coarse[None, :100])
