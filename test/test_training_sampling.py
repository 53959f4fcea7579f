"""Window sampling for the score head: random negatives cover the whole frame."""
from __future__ import annotations

import numpy as np

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
