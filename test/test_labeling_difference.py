"""difference_mask on synthetic before/after pairs with known answers."""
import cv2
import numpy as np
import pytest

from seg_by_interaction.config import load_config
from seg_by_interaction.labeling import difference_mask

LAB = load_config()["labeling"]

H, W = 350, 430


def background(rng, textured=True):
    img = np.ones((H, W, 3), np.float32) * np.array([150, 140, 120], np.float32)
    if textured:
        n = rng.normal(0, 1, (H // 8 + 1, W // 8 + 1)).astype(np.float32)
        n = cv2.resize(n, (W, H), interpolation=cv2.INTER_CUBIC)[..., None]
        img = img * (1 + 0.12 * n) + rng.normal(0, 6, (H, W, 1)).astype(np.float32)
    return img


def ellipse(centre, axes, angle=0.0):
    m = np.zeros((H, W), np.uint8)
    cv2.ellipse(m, (int(centre[0]), int(centre[1])), axes, angle, 0, 360, 1, -1)
    return m > 0


def paint(img, mask, colour):
    out = img.copy()
    out[mask] = colour
    return out


def cast_shadow(img, mask, offset=(9, 9), factor=0.55):
    s = np.roll(np.roll(mask, offset[1], 0), offset[0], 1) & ~mask
    out = img.copy()
    out[s] *= factor
    return out, s


def shot(img, rng, sigma=2.0):
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def relight(img, gain, gradient=0.0, spot=None):
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    g = 1 + gradient * (xx / W - 0.5)
    if spot is not None:
        cx, cy, r, amp = spot
        g = g * (1 + amp * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))
    return img * g[..., None] * np.asarray(gain, np.float32)


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("textured", [True, False])
def test_moved_object_gives_its_mask_without_its_shadow(textured):
    rng = np.random.default_rng(1)
    bg = background(rng, textured)
    obj = ellipse((215, 175), (35, 20), 30)
    scene, shadow = cast_shadow(paint(bg, obj, (200, 40, 40)), obj)
    mask = difference_mask(shot(scene, rng), shot(bg, rng), (215, 175), LAB)
    assert mask is not None and mask.shape == (H, W) and mask.dtype == bool
    assert iou(mask, obj) > 0.85
    assert (mask & shadow).sum() < 0.25 * shadow.sum()


def test_lighting_change_only_is_nothing_moved():
    rng = np.random.default_rng(2)
    bg = background(rng)
    obj = ellipse((200, 160), (30, 18))
    scene = paint(bg, obj, (40, 60, 200))
    before = shot(scene, rng)
    for gain, gradient, spot in [((1.25, 1.2, 1.1), 0.0, None), ((0.7, 0.75, 0.8), 0.4, None),
                                 ((1, 1, 1), 0.0, (220, 160, 50, 0.5)),
                                 ((0.9, 1.0, 1.1), -0.5, (180, 170, 70, -0.4))]:
        after = shot(relight(scene, gain, gradient, spot), rng)
        assert difference_mask(before, after, (200, 160), LAB) is None


def test_a_passing_shadow_is_nothing_moved():
    rng = np.random.default_rng(3)
    bg = background(rng)
    obj = ellipse((200, 160), (30, 18))
    scene = paint(bg, obj, (40, 160, 60))
    region = ellipse((230, 170), (60, 40))
    shaded = scene.copy()
    shaded[region] *= 0.5
    assert region.sum() > 5000
    assert difference_mask(shot(scene, rng), shot(shaded, rng), (200, 160), LAB) is None


def test_naive_difference_would_fire_on_lighting():
    """The lighting case above is not trivially easy: raw RGB difference changes a lot."""
    rng = np.random.default_rng(2)
    scene = background(rng)
    before = shot(scene, rng)
    after = shot(relight(scene, (0.7, 0.75, 0.8), 0.4), rng)
    raw = np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 25
    assert raw.sum() > 20000


def test_two_touching_objects_only_the_moved_one():
    rng = np.random.default_rng(4)
    bg = background(rng)
    picked = ellipse((190, 175), (32, 20))
    neighbour = ellipse((245, 175), (25, 25)) & ~picked
    assert (ellipse((190, 175), (34, 22)) & neighbour).any()     # they touch
    scene, _ = cast_shadow(paint(paint(bg, neighbour, (40, 60, 200)), picked, (200, 180, 40)), picked)
    after, _ = cast_shadow(paint(bg, neighbour, (40, 60, 200)), neighbour)
    after = paint(after, neighbour, (40, 60, 200))
    mask = difference_mask(shot(scene, rng), shot(after, rng), (190, 175), LAB)
    assert mask is not None
    assert iou(mask, picked) > 0.8
    assert (mask & neighbour).sum() < 0.1 * neighbour.sum()


def test_an_object_larger_than_the_window_is_found_whole():
    """A component cut by the window's edge is looked for again in a window twice as wide
    (labeling.window_growth); with no growth the window cuts it, as the paper's fixed one did."""
    rng = np.random.default_rng(5)
    bg = background(rng)
    obj = ellipse((215, 175), (70, 25))                # 140 px long
    scene = paint(bg, obj, (30, 30, 30))
    window = 100
    a, b = shot(scene, rng), shot(bg, rng)
    fixed = LAB.model_copy(update={"window_growth": 0})
    mask = difference_mask(a, b, (215, 175), fixed, window=window)
    assert mask is not None
    inside = np.zeros_like(obj)
    inside[125:225, 165:265] = True
    assert not (mask & ~inside).any()
    assert iou(mask, obj & inside) > 0.85
    grown = difference_mask(a, b, (215, 175), LAB, window=window)
    assert LAB["window_growth"] >= 1 and iou(grown, obj) > 0.85


def test_pick_near_the_image_border():
    rng = np.random.default_rng(6)
    bg = background(rng)
    obj = ellipse((20, 330), (30, 25))
    scene = paint(bg, obj, (220, 220, 60))
    mask = difference_mask(shot(scene, rng), shot(bg, rng), (20, 330), LAB)
    assert mask is not None and iou(mask, obj) > 0.8


def test_small_change_is_below_min_pixels():
    rng = np.random.default_rng(7)
    bg = background(rng)
    obj = ellipse((215, 175), (12, 10))                 # ~380 px
    scene = paint(bg, obj, (30, 30, 200))
    assert difference_mask(shot(scene, rng), shot(bg, rng), (215, 175), LAB, min_pixels=1000) is None
    assert difference_mask(shot(scene, rng), shot(bg, rng), (215, 175), LAB, min_pixels=200) is not None


def test_window_and_min_pixels_come_from_the_labeling_section():
    rng = np.random.default_rng(7)
    bg = background(rng)
    obj = ellipse((215, 175), (18, 14))                 # ~790 px: above 400, below the old 1000
    scene = paint(bg, obj, (30, 30, 200))
    before, after = shot(scene, rng), shot(bg, rng)
    assert LAB["min_pixels"] < obj.sum() < 1000
    assert difference_mask(before, after, (215, 175), LAB) is not None
    assert difference_mask(before, after, (215, 175), load_config()) is not None      # or the whole
    assert difference_mask(before, after, (215, 175), LAB.model_copy(update={"min_pixels": 1000})) is None
    assert difference_mask(before, after, (215, 175), LAB.model_copy(update={"window": 8})) is None
    with pytest.raises(ValueError, match="window"):
        difference_mask(before, after, (215, 175), LAB.model_copy(update={"window": 4}))
    with pytest.raises(TypeError):
        difference_mask(before, after, (215, 175))    # no hidden preset


def test_change_away_from_the_pick_is_not_this_pick():
    rng = np.random.default_rng(8)
    bg = background(rng)
    obj = ellipse((150, 175), (30, 20))
    scene = paint(bg, obj, (200, 40, 40))
    assert difference_mask(shot(scene, rng), shot(bg, rng), (260, 175), LAB) is None


def test_bad_inputs_raise():
    img = np.zeros((H, W, 3), np.uint8)
    with pytest.raises(ValueError):
        difference_mask(img, img[:100], (10, 10), LAB)
    with pytest.raises(ValueError):
        difference_mask(img.astype(np.float32), img, (10, 10), LAB)
    with pytest.raises(ValueError):
        difference_mask(img, img, (W + 5, 10), LAB)
