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
