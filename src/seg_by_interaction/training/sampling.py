"""Training windows cut from examples as the paper and the authors' code do.

Positives: centred on the object's box, scaled so its longer side is
``model.object_fraction`` of the window (what inference expects), jittered by
<= positive_shift_px and 2^(+-positive_scale_log2). Hard negatives: the same
example shifted by an L1 distance in negative_shift_px, or at a scale off by
2^(+-negative_scale_log2). Negative interactions: a window at the pick point at a
random pyramid scale. Pixel jitters are given for ``reference_window`` and scaled
to the preset's window. Random flips for all.
"""
from __future__ import annotations

import numpy as np

from seg_by_interaction.perception.windows import border_fill, cut_window, pyramid_scales
from seg_by_interaction.types import Example


def mask_box_centre_and_size(mask: np.ndarray):
    """((cx, cy), longer side) of the mask's bounding box, in pixels."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(cols) == 0:
        raise ValueError("positive example with an empty mask")
    x0, x1, y0, y1 = cols[0], cols[-1] + 1, rows[0], rows[-1] + 1
    return ((x0 + x1) / 2.0, (y0 + y1) / 2.0), float(max(x1 - x0, y1 - y0))


class WindowSampler:
    def __init__(self, cfg: dict, rng: np.random.Generator):
        self.model_cfg, self.train_cfg = cfg.model, cfg.training
        self.window = int(self.model_cfg.window)
        # the mask target's side: what the model outputs (window / 2 with the refiner)
        self.mask_size = self.window // 2 if self.model_cfg.refine_head.enabled else self.model_cfg.mask_size
        self.fill = border_fill(self.model_cfg)
        self.px = self.window / float(self.train_cfg.reference_window)
        self.inference_cfg = cfg.inference
        self._ranges: dict[tuple[int, int], tuple[float, float]] = {}
        self.rng = rng

    def _log2_scale_range(self, image: np.ndarray) -> tuple[float, float]:
        """log2 of the smallest and largest pyramid level inference uses on this frame size."""
        hw = image.shape[:2]
        if hw not in self._ranges:
            scales = pyramid_scales(self.inference_cfg, self.model_cfg, hw)
            self._ranges[hw] = (float(np.log2(min(scales))), float(np.log2(max(scales))))
        return self._ranges[hw]

    def _flip(self, win, mask):
        t = self.train_cfg
        if t["flip_horizontal"] and self.rng.random() < 0.5:
            win = win[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        if t["flip_vertical"] and self.rng.random() < 0.5:
            win = win[::-1]
            mask = None if mask is None else mask[::-1]
        return np.ascontiguousarray(win), None if mask is None else np.ascontiguousarray(mask)

    def _object_scale(self, ex: Example):
        centre, size = mask_box_centre_and_size(ex.mask)
        return centre, float(self.model_cfg.object_fraction) * self.window / size

    def _jitter(self, scale):
        """A uniform shift of <= positive_shift_px window pixels, in original pixels."""
        r = float(self.train_cfg.positive_shift_px) * self.px
        return self.rng.uniform(-r, r, size=2) / scale

    def positive(self, ex: Example):
        """(window uint8 [W, W, 3], mask bool [m, m]) around the example's object."""
        centre, scale = self._object_scale(ex)
        scale *= 2.0 ** (self.rng.uniform(-1, 1) * float(self.train_cfg.positive_scale_log2))
        centre = np.asarray(centre) + self._jitter(scale)
        win, mask = cut_window(ex.image, centre, scale, self.window, self.fill,
                               ex.mask, self.mask_size)
        return self._flip(win, mask)

    def hard_negative(self, ex: Example):
        """A window near a positive example's object that is not centred on it at the
        right scale: shifted by a large L1 distance, or at a wrong scale."""
        centre, scale = self._object_scale(ex)
        t = self.train_cfg
        if self.rng.random() < float(t["shifted_negative_fraction"]):
            lo, hi = (float(v) * self.px for v in t["negative_shift_px"])
            dist = self.rng.uniform(lo, hi)
            split = self.rng.random()
            signs = self.rng.choice([-1.0, 1.0], size=2)
            centre = np.asarray(centre) + signs * np.array([split, 1 - split]) * dist / scale
        else:
            lo, hi = (float(v) for v in t["negative_scale_log2"])
            scale *= 2.0 ** (self.rng.choice([-1.0, 1.0]) * self.rng.uniform(lo, hi))
            centre = np.asarray(centre) + self._jitter(scale)
        win, _ = cut_window(ex.image, centre, scale, self.window, self.fill)
        return self._flip(win, None)[0]

    def negative(self, ex: Example):
        """A window at a negative interaction's pick point, at a random pyramid scale."""
        scale = 2.0 ** self.rng.uniform(*self._log2_scale_range(ex.image))
        centre = np.asarray(ex.pick_px, dtype=float) + self._jitter(scale)
        win, _ = cut_window(ex.image, centre, scale, self.window, self.fill)
        return self._flip(win, None)[0]

    def random_negative(self, ex: Example):
        """A window anywhere in the frame (image borders and padding included) at a random
        pyramid scale: the paper's randomly jittered negatives. Inference scores every
        position of every scale, so the score head must see such windows too; the few
        that happen to frame an object at the right scale are label noise."""
        scale = 2.0 ** self.rng.uniform(*self._log2_scale_range(ex.image))
        h, w = ex.image.shape[:2]
        half = 0.5 * self.window / scale
        centre = np.array([self.rng.uniform(-half / 2, w + half / 2),
                           self.rng.uniform(-half / 2, h + half / 2)])
        win, _ = cut_window(ex.image, centre, scale, self.window, self.fill)
        return self._flip(win, None)[0]

