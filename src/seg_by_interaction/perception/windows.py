"""Window geometry shared by training and inference, so both see objects alike.

A window is ``model.window`` pixels square, cut from the image resized by a scale
factor. Inference resizes each frame to the levels of ``pyramid_scales`` (derived from
the frame's size); training resizes so an object's longer side is
``model.object_fraction`` of the window.
Pixels outside the image are filled with the mean colour (0 after normalisation).
"""
from __future__ import annotations

import cv2
import numpy as np


def check_image(image) -> np.ndarray:
    """An RGB uint8 [H, W, 3] array with H, W > 0, or ValueError saying what is wrong."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be RGB [H, W, 3], got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty (shape {image.shape})")
    return image


def pyramid_scales(inference_cfg: dict, model_cfg: dict, frame_hw) -> list[float]:
    """The resize factors of a frame's pyramid levels, smallest first: derived from the frame
    and the window, so any input size is covered alike.

    A window puts an object of ``model.object_fraction x model.window`` pixels at the size
    the network learned. The largest level brings objects of ``inference.min_object_px``
    to that size, the smallest brings objects of ``inference.max_object_fraction`` x the
    frame's shorter side; levels are ``inference.scale_step_log2`` octaves apart (training's
    +-``positive_scale_log2`` jitter covers what lies between), at most
    ``inference.max_levels`` of them (0: no cap; fewer levels spread over the same range)."""
    target = float(model_cfg.object_fraction) * int(model_cfg.window)
    short = float(min(int(frame_hw[0]), int(frame_hw[1])))
    if short <= 0:
        raise ValueError(f"frame size {tuple(frame_hw)} has no pixels")
    smallest_obj = float(inference_cfg.min_object_px)
    largest_obj = max(smallest_obj, float(inference_cfg.max_object_fraction) * short)
    hi = np.log2(target / smallest_obj)
    lo = np.log2(target / largest_obj)
    step = float(inference_cfg.scale_step_log2)
    n = int(np.ceil((hi - lo) / step - 1e-9)) + 1         # levels at most `step` apart
    cap = int(inference_cfg.max_levels)
    n = min(n, cap) if cap else n
    if n == 1 or hi - lo < 1e-9:
        return [float(2.0 ** hi)]
    step = (hi - lo) / (n - 1)                              # spread evenly: both ends covered
    return [float(2.0 ** (lo + step * i)) for i in range(n)]


def fill_colour(model_cfg: dict) -> np.ndarray:
    """The uint8 RGB mean colour that normalises to zero."""
    return np.round(np.asarray(model_cfg.pixel_mean) * 255).astype(np.uint8)


def resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Resize by ``scale`` (area averaging when shrinking, so no aliasing)."""
    h, w = image.shape[:2]
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interp)


def crop(image: np.ndarray, x0: int, y0: int, size: int, fill) -> np.ndarray:
    """image[y0:y0+size, x0:x0+size] with out-of-image pixels set to ``fill``, or
    mirrored from the image when ``fill`` is "reflect" (see ``pad_image``)."""
    if isinstance(fill, str):
        h, w = image.shape[:2]
        top, left = max(0, -y0), max(0, -x0)
        bottom, right = max(0, y0 + size - h), max(0, x0 + size - w)
        padded = pad_image(image, top, bottom, left, right, fill)
        return np.ascontiguousarray(padded[y0 + top:y0 + top + size, x0 + left:x0 + left + size])
    out = np.empty((size, size) + image.shape[2:], dtype=image.dtype)
    out[...] = fill
    h, w = image.shape[:2]
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + size, w), min(y0 + size, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def pad_image(image: np.ndarray, top: int, bottom: int, left: int, right: int, mode) -> np.ndarray:
    """The image with borders: ``mode`` "reflect" mirrors the scene into them (so the
    padding looks like more table, never like a flat-coloured object with a straight
    edge), anything else is a fill colour."""
    if isinstance(mode, str) and mode == "reflect":
        return cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_REFLECT_101)
    return cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT,
                              value=np.broadcast_to(np.asarray(mode, dtype=float), (3,)).tolist())


def border_fill(model_cfg):
    """What fills a window beyond the image: "reflect", or the mean colour (constant)."""
    mode = model_cfg.pad_mode
    if mode == "reflect":
        return "reflect"
    if mode == "constant":
        return fill_colour(model_cfg)
    raise ValueError(f"model.pad_mode must be constant or reflect, got {mode!r}")


def cut_window(image: np.ndarray, centre_xy, scale: float, window: int, fill,
               mask: np.ndarray | None = None, mask_size: int | None = None):
    """The window centred at ``centre_xy`` (original pixels) of the image resized by
    ``scale``; with a mask, also the mask over that window at mask_size x mask_size.

    Only the part of the image under the window (plus a pixel of margin) is resized, not
    the whole frame: a training window of a small object upscales a few dozen pixels
    instead of the frame (1.5-2.2 ms -> 0.1-0.9 ms a window). The window's grid is the
    whole-frame resize's up to half a window pixel (tested)."""
    scale = float(scale)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"window scale must be a positive number, got {scale}")
    # the window in resized-image pixels, then the original pixels under it
    wx0 = centre_xy[0] * scale - window / 2
    wy0 = centre_xy[1] * scale - window / 2
    sx0 = int(np.floor(wx0 / scale)) - 1
    sy0 = int(np.floor(wy0 / scale)) - 1
    side = int(np.ceil(window / scale)) + 3
    region = crop(image, sx0, sy0, side, fill)
    scaled = resize(region, scale)
    exact = scaled.shape[0] / side          # the scale resize made (pixel counts are whole)
    ox = int(round((centre_xy[0] - sx0) * exact - window / 2))
    oy = int(round((centre_xy[1] - sy0) * exact - window / 2))
    win = crop(scaled, ox, oy, window, fill)
    if mask is None:
        return win, None
    region_mask = crop(mask.astype(np.float32), sx0, sy0, side, 0.0)
    m = crop(resize(region_mask, scale), ox, oy, window, 0.0)
    m = cv2.resize(m, (mask_size, mask_size), interpolation=cv2.INTER_AREA)
    return win, m >= 0.5


def object_size_range(cfg: dict, frame_hw) -> tuple[float, float]:
    """Longer sides (frame pixels) of the objects the pyramid puts at the trained size in a
    frame of ``frame_hw`` (height, width): its smallest and largest object."""
    target = float(cfg.model.object_fraction) * int(cfg.model.window)
    scales = pyramid_scales(cfg.inference, cfg.model, frame_hw)
    return target / max(scales), target / min(scales)
