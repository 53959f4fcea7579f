"""The paper's self-supervision signal: what changed around the pick point.

A raw RGB difference also fires on lighting changes and on the moved object's own
shadow. Here the comparison is made in log space, where an illumination change is
an added (smooth or piecewise-constant) field and a changed material is a sharp one:

1. ``D = log(after + c) - log(before + c)`` per channel, inside the window.
2. Subtract an illumination field: a wide median of ``D`` (global gain, colour
   tint and smooth local light changes cancel; an object is smaller than the
   median's span, so it survives).
3. Split the residual into a grey part (brightness ratio) and a chromatic part.
   A shadow (or a patch of light) only scales brightness: grey residual, no
   chroma change and no new texture. A pixel counts as changed when its
   chromaticity changed, or texture appeared/vanished (gradient of ``D``), or its
   brightness changed more than a shadow can explain.
4. Open/close/fill the changed map and keep the one connected component at (or
   nearest to) the pick point; more than ``min_pixels`` pixels = an object moved.

All thresholds live in the ``labeling`` section of the configuration.
"""
from __future__ import annotations

from typing import Mapping, Optional

import cv2
import numpy as np
from scipy import ndimage
from skimage import filters


def _labeling_cfg(cfg: Mapping) -> Mapping:
    """Accept the whole config or its ``labeling`` section (never a hidden preset)."""
    if cfg is None:
        raise TypeError("pass the configuration (or its labeling section)")
    return cfg.labeling if "labeling" in cfg else cfg


def _check_image(name: str, img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"{name} must be an HxWx3 uint8 RGB image, got {img.dtype} {img.shape}")
    return img


def window_bounds(shape: tuple[int, int], pick_px, window: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), the ``window``-sized square centred on the pick, clipped to the image."""
    h, w = shape
    x, y = float(pick_px[0]), float(pick_px[1])
    if not (0 <= x < w and 0 <= y < h):
        raise ValueError(f"pick point ({x:.1f}, {y:.1f}) lies outside the {w}x{h} image")
    half = window / 2.0
    x0, y0 = max(0, int(round(x - half))), max(0, int(round(y - half)))
    x1, y1 = min(w, int(round(x + half))), min(h, int(round(y + half)))
    return x0, y0, x1, y1


def _disk(px: int) -> np.ndarray:
    px = max(1, int(px))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (px, px))


def _illumination_field(d: np.ndarray, scale: int, kernel_px: int) -> np.ndarray:
    """Wide per-channel median of the log-ratio, computed on a coarse grid.

    cv2.medianBlur takes large apertures on uint8 only, so the log-ratio is
    quantised to 1/64 (about 1.6 % in brightness) for this step.
    """
    h, w = d.shape[:2]
    scale = max(1, int(scale))
    small = cv2.resize(d, (max(1, w // scale), max(1, h // scale)), interpolation=cv2.INTER_AREA)
    q = np.clip(np.round(small * 64.0 + 128.0), 0, 255).astype(np.uint8)
    k = max(3, int(kernel_px // scale) | 1)
    k = min(k, (min(small.shape[:2]) * 2 - 1) | 1)
    med = cv2.medianBlur(q, k).astype(np.float32)
    med = (med - 128.0) / 64.0
    return cv2.resize(med, (w, h), interpolation=cv2.INTER_LINEAR).reshape(d.shape)


def change_map(before: np.ndarray, after: np.ndarray, cfg: Mapping) -> np.ndarray:
    """Bool map of pixels whose material changed (lighting and shadows excluded), pre-morphology."""
    c = _labeling_cfg(cfg)
    sigma = float(c["denoise_sigma"])
    b = before.astype(np.float32)
    a = after.astype(np.float32)
    if sigma > 0:
        b = cv2.GaussianBlur(b, (0, 0), sigma)
        a = cv2.GaussianBlur(a, (0, 0), sigma)
    off = float(c["log_offset"])
    d = np.log(a + off) - np.log(b + off)
    r = d - _illumination_field(d, c["illumination_scale"], c["illumination_kernel_px"])
    grey = r.mean(axis=2)
    chroma = np.linalg.norm(r - grey[..., None], axis=2)
    # A clipped channel fakes a colour change when the light gets brighter: trust
    # only brightness and texture where either image is saturated.
    sat = float(c["saturation_level"])
    chroma[(before.max(axis=2) >= sat) | (after.max(axis=2) >= sat)] = 0.0
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    texture = cv2.GaussianBlur(np.hypot(gx, gy), (0, 0), float(c["texture_sigma"]))
    # evidence of a changed material, 1.0 = at a cue's threshold
    score = np.maximum.reduce([chroma / float(c["chroma_threshold"]),
                               np.abs(grey) / float(c["luminance_threshold"]),
                               texture / float(c["texture_threshold"])])
    low = float(c["hysteresis_low"])
    if low >= 1.0:
        return score > 1.0
    # hysteresis: weaker evidence counts where it connects to a sure change (an object
    # that resembles the table is found whole from its sure edges; isolated weak noise,
    # or a soft shadow apart from any change, is not)
    return filters.apply_hysteresis_threshold(score, low, 1.0)


def clean_change(changed: np.ndarray, cfg: Mapping) -> np.ndarray:
    """A change map made into solid blobs: opening drops noise and thin shadow edges,
    closing joins an object's weakly contrasted parts, holes are filled."""
    c = _labeling_cfg(cfg)
    out = cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_OPEN, _disk(c["open_px"]))
    out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, _disk(c["close_px"]))
    return ndimage.binary_fill_holes(out > 0)


def _component_at(fg: np.ndarray, x: int, y: int, radius: float) -> Optional[np.ndarray]:
    n, labels = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None
    label = labels[y, x]
    if label == 0:
        dist, (iy, ix) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
        if dist[y, x] > radius:
            return None
        label = labels[iy[y, x], ix[y, x]]
    return labels == label


def difference_mask(before: np.ndarray, after: np.ndarray, pick_px, cfg: Mapping,
                    window: Optional[int] = None,
                    min_pixels: Optional[int] = None) -> Optional[np.ndarray]:
    """Mask (bool, image size) of the object that moved at ``pick_px``, or None if nothing did.

    ``before``/``after``: HxWx3 uint8 RGB of one camera; ``pick_px``: (x, y) pixel;
    ``cfg``: the configuration or its ``labeling`` section. Only the ``window`` x
    ``window`` square around the pick is compared; the kept component is the one under
    the pick (or the nearest within ``pick_radius_px``); it must have more than
    ``min_pixels`` pixels to count as an object. ``window`` and ``min_pixels`` are
    ``labeling.window`` / ``labeling.min_pixels`` unless given here. A component cut by
    the window's edge (an object larger than it) is looked for again in a window twice as
    wide, up to ``labeling.window_growth`` times.
    """
    c = _labeling_cfg(cfg)
    window = int(c["window"] if window is None else window)
    min_pixels = int(c["min_pixels"] if min_pixels is None else min_pixels)
    before = _check_image("before", before)
    after = _check_image("after", after)
    if before.shape != after.shape:
        raise ValueError(f"before {before.shape} and after {after.shape} differ in size")
    if window < 8:
        raise ValueError(f"window must be at least 8 px, got {window}")
    h, w = before.shape[:2]
    for _ in range(1 + int(c["window_growth"])):
        x0, y0, x1, y1 = window_bounds(before.shape[:2], pick_px, int(window))
        changed = clean_change(change_map(before[y0:y1, x0:x1], after[y0:y1, x0:x1], c), c)
        px = min(int(pick_px[0]) - x0, x1 - x0 - 1)
        py = min(int(pick_px[1]) - y0, y1 - y0 - 1)
        comp = _component_at(changed, px, py, float(c["pick_radius_px"]))
        if comp is None or int(comp.sum()) <= int(min_pixels):
            return None
        # an object bigger than the window is cut by it: look again in a window twice the side
        cut = ((x0 > 0 and comp[:, 0].any()) or (y0 > 0 and comp[0].any())
               or (x1 < w and comp[:, -1].any()) or (y1 < h and comp[-1].any()))
        if not cut or (x1 - x0 >= w and y1 - y0 >= h):
            break
        window *= 2
    out = np.zeros(before.shape[:2], dtype=bool)
    out[y0:y1, x0:x1] = comp
    return out
