"""Window sampling for the score head: random negatives cover the whole frame."""
from __future__ import annotations

import numpy as np
import pytest

from seg_by_interaction.config import load_config
from seg_by_interaction.training.sampling import WindowSampler
from seg_by_interaction.types import Example


def test_random_negatives_span_the_frame_including_its_borders():
    cfg = load_config()
    sampler = WindowSampler(cfg, np.random.default_rng(0))
    image = np.full((350, 430, 3), 77, np.uint8)
    ex = Example(image, (200.0, 150.0), None)
    window = int(cfg["model"]["window"])
    with_padding = 0
    for _ in range(200):
        win = sampler.random_negative(ex)
        assert win.shape == (window, window, 3) and win.dtype == np.uint8
        with_padding += int((win != 77).all(axis=2).any())   # fill colour = outside the frame
    assert 20 < with_padding < 200                          # borders are seen, not only them


def test_reflect_padding_mirrors_the_scene_into_windows_beyond_the_image():
    """model.pad_mode reflect: a window hanging over the image's corner is filled with the
    mirrored scene, not a flat block of the mean colour (a flat block with a straight edge
    is what an object looks like to the score head)."""
    from seg_by_interaction.config import ConfigError, load_config
    from seg_by_interaction.perception.windows import border_fill, crop
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    flat = crop(img, -10, -10, 30, border_fill(
        load_config(overrides={"model.pad_mode": "constant", "model.pixel_mean": [0.5, 0.5, 0.5]}).model))
    assert (flat[:10, :10] == 128).all()
    mirrored = crop(img, -10, -10, 30, border_fill(load_config(overrides={"model.pad_mode": "reflect"}).model))
    assert (mirrored[10:, 10:] == img[:20, :20]).all()          # the image itself, unmoved
    assert (mirrored[9, 10:] == img[1, :20]).all()              # row -1 mirrors row 1
    assert mirrored[:10, :10].std() > 20                        # texture, not a flat block
    with pytest.raises(ConfigError, match="pad_mode"):
        load_config(overrides={"model.pad_mode": "zeros"})


@pytest.mark.parametrize("scale", [0.31, 0.77, 1.0, 1.9, 3.7])
def test_cut_window_matches_resizing_the_whole_frame(scale):
    """cut_window resizes only the region under the window; its window and mask are the
    whole-frame resize's (what the pyramid sees at inference) up to half a window pixel:
    a disc lands at the window's centre with its size times ``scale``."""
    from seg_by_interaction.perception.windows import crop, cut_window, resize
    rng = np.random.default_rng(1)
    h, w, window, msize = 350, 430, 96, 48
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img = np.ascontiguousarray(cv2_blur(img))
    yy, xx = np.mgrid[:h, :w]
    radius = 0.25 * window / scale
    for cx, cy in ((201.3, 163.7), (12.0, 9.5), (425.0, 340.0)):
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius ** 2
        win, m = cut_window(img, (cx, cy), scale, window, 0, mask, msize)
        assert win.shape == (window, window, 3) and m.shape == (msize, msize)
        # the whole frame resized, then cut (the old way): same pixels up to a sub-pixel shift
        x0, y0 = int(round(cx * scale - window / 2)), int(round(cy * scale - window / 2))
        ref = crop(resize(img, scale), x0, y0, window, 0)
        inside = ref.any(axis=2) & win.any(axis=2)
        assert np.abs(win.astype(int) - ref.astype(int))[inside].mean() < 12
        ref_m = crop(resize(mask.astype(np.float32), scale), x0, y0, window, 0.0)
        import cv2
        ref_m = cv2.resize(ref_m, (msize, msize), interpolation=cv2.INTER_AREA) >= 0.5
        iou = (m & ref_m).sum() / max(1, (m | ref_m).sum())
        assert iou > 0.85                                 # both are rounded to whole pixels
        ys, xs = np.nonzero(m)
        if (cx, cy) == (201.3, 163.7):                    # the disc whole inside the window
            # mask pixel i spans [i, i + 1): the disc's centre is half a pixel further on
            expected = (msize / 2) * (1 + scale / window)
            assert abs(xs.mean() + 0.5 - expected) < 0.5 and abs(ys.mean() + 0.5 - expected) < 0.5
            assert abs(2 * np.sqrt(m.sum() / np.pi) - msize / 2) < 2


def test_cut_window_refuses_a_scale_that_is_not_positive():
    from seg_by_interaction.perception.windows import cut_window
    img = np.zeros((20, 20, 3), np.uint8)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="scale"):
            cut_window(img, (10, 10), bad, 16, 0)


def cv2_blur(img):
    """Texture smooth enough that a sub-pixel shift changes pixels a little, not wholly."""
    import cv2
    return cv2.GaussianBlur(img, (0, 0), 3)
