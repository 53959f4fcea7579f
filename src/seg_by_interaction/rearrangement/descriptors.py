"""What a segment looks like, as a vector whose Euclidean distances compare segments.

The paper describes each segment with AlexNet features pretrained on ImageNet; those
weights cannot be downloaded here. Two substitutes, compared in the evaluation:

* ``appearance`` (this module): a Lab colour histogram of the mask's pixels, smoothed
  across neighbouring bins (hard bin edges made the same object under the arena's
  lighting jitter look 2-3x less alike; measured, docs/rearrangement.md) and embedded so
  that Euclidean distance = Hellinger distance (0..1), plus the mask's log area and log
  elongation. Colour survives moving an object; area and elongation change only a little
  with perspective, and separate same-coloured objects of different shape.
* ``trunk`` (``trunk.py``): the DeepMask trunk's own features averaged over the mask,
  i.e. what the robot learned to see by interacting.

A descriptor is a callable ``(image RGB uint8 [H, W, 3], masks [bool [H, W]]) -> [N, D]``.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter

Descriptor = Callable[[np.ndarray, Sequence[np.ndarray]], np.ndarray]
DESCRIPTORS = ("appearance", "trunk")


class AppearanceDescriptor:
    """Lab histogram (Hellinger embedding) + weighted log area and log elongation."""

    def __init__(self, colour_bins: Sequence[int], colour_smoothing: float, colour_weight: float,
                 area_weight: float, elongation_weight: float):
        self.bins = [int(b) for b in colour_bins]
        if len(self.bins) != 3 or min(self.bins) < 1:
            raise ValueError(f"colour_bins must be three positive counts, got {colour_bins}")
        self.smoothing = float(colour_smoothing)
        if self.smoothing < 0:
            raise ValueError(f"colour_smoothing must be >= 0 bins, got {colour_smoothing}")
        self.colour_weight = float(colour_weight)
        self.area_weight = float(area_weight)
        self.elongation_weight = float(elongation_weight)

    @classmethod
    def from_config(cls, rearrangement_cfg: dict) -> "AppearanceDescriptor":
        a = rearrangement_cfg.appearance
        return cls(a.colour_bins, a.colour_smoothing, a.colour_weight, a.area_weight,
                   a.elongation_weight)

    @property
    def length(self) -> int:
        return int(np.prod(self.bins)) + 2

    def _one(self, lab: np.ndarray, mask: np.ndarray) -> np.ndarray:
        m = np.asarray(mask, dtype=bool)
        if m.shape != lab.shape[:2]:
            raise ValueError(f"mask {m.shape} does not fit the image {lab.shape[:2]}")
        ys, xs = np.nonzero(m)
        if len(xs) < 3:
            raise ValueError(f"a segment needs at least 3 pixels, got {len(xs)}")
        hist = cv2.calcHist([lab], [0, 1, 2], m.astype(np.uint8), self.bins,
                            [0, 256, 0, 256, 0, 256])
        if self.smoothing > 0:
            hist = gaussian_filter(hist, self.smoothing, mode="constant")
        hist = hist.ravel()
        colour = np.sqrt(hist / hist.sum()) / np.sqrt(2.0)   # ||a - b|| = Hellinger distance
        pts = np.column_stack([xs, ys]).astype(np.float64)
        evals = np.linalg.eigvalsh(np.cov((pts - pts.mean(0)).T))
        elongation = 0.5 * np.log((evals[1] + 1.0) / (evals[0] + 1.0))  # +1: a pixel's own spread
        return np.concatenate([self.colour_weight * colour,
                               [self.area_weight * np.log(len(xs)),
                                self.elongation_weight * elongation]])

    def __call__(self, image: np.ndarray, masks: Sequence[np.ndarray]) -> np.ndarray:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be RGB uint8 [H, W, 3], got {image.dtype} {image.shape}")
        if len(masks) == 0:
            return np.zeros((0, self.length))
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
        return np.stack([self._one(lab, m) for m in masks])


def make_descriptor(name: str, rearrangement_cfg: dict, model=None) -> Descriptor:
    """The descriptor ``name``; ``trunk`` needs the DeepMask ``model`` whose trunk to use."""
    if name == "appearance":
        return AppearanceDescriptor.from_config(rearrangement_cfg)
    if name == "trunk":
        if model is None:
            raise ValueError("the trunk descriptor needs a DeepMask model (a checkpoint)")
        from seg_by_interaction.rearrangement.trunk import TrunkDescriptor
        return TrunkDescriptor(model, float(rearrangement_cfg.trunk.scale))
    raise ValueError(f"unknown descriptor {name!r} (use one of {DESCRIPTORS})")


def rejection_threshold(name: str, rearrangement_cfg: dict) -> float:
    """The configured rejection threshold of descriptor ``name``."""
    table: Optional[dict] = rearrangement_cfg.rejection_threshold
    if not table or name not in table:
        raise ValueError(f"no rearrangement.rejection_threshold for descriptor {name!r}")
    return float(table[name])
