"""Compressed camera images (PNG lossless, JPEG lossy) as image_transport's
``sensor_msgs/CompressedImage`` carries them: ``format`` names what the bytes hold.

Used where images are kept rather than looked at: recorded interactions (bags) and the
coordinator's outbox. PNG gives back every pixel, so what is labelled from a bag equals
what was labelled live; JPEG is ~5x smaller again but changes the labels a little
(docs/learning.md, "Recording").
"""
from __future__ import annotations

import cv2
import numpy as np

FORMATS = ("png", "jpeg")
# image_transport's compressed format strings: "<original encoding>; <codec> compressed <coded order>"
_FORMAT_STRING = {"png": "rgb8; png compressed bgr8", "jpeg": "rgb8; jpeg compressed bgr8"}
_MASK_FORMAT = "mono8; png compressed mono8"


class CodecError(ValueError):
    """Bytes that do not decode to the image their format says."""


def encode_rgb(image: np.ndarray, fmt: str = "png", quality: int = 95,
               png_level: int = 1) -> tuple[str, bytes]:
    """(format string, bytes) of an RGB uint8 image."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r} (use one of {', '.join(FORMATS)})")
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 HxWx3 image, got {image.dtype} {image.shape}")
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    params = ([cv2.IMWRITE_PNG_COMPRESSION, int(png_level)] if fmt == "png"
              else [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    ok, buf = cv2.imencode(".png" if fmt == "png" else ".jpg", bgr, params)
    if not ok:
        raise ValueError(f"could not encode the image as {fmt}")
    return _FORMAT_STRING[fmt], buf.tobytes()


def decode_rgb(fmt: str, data: bytes) -> np.ndarray:
    """RGB uint8 image from compressed bytes (CodecError if they are not an image)."""
    if not fmt.startswith(("rgb8;", "bgr8;")) and fmt not in ("png", "jpeg", "jpg"):
        raise CodecError(f"unsupported compressed image format {fmt!r}")
    out = cv2.imdecode(np.frombuffer(bytes(data), np.uint8), cv2.IMREAD_COLOR)
    if out is None:
        raise CodecError(f"compressed image ({fmt}, {len(data)} bytes) does not decode")
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def encode_mask(mask: np.ndarray) -> tuple[str, bytes]:
    """(format string, PNG bytes) of a boolean or mono8 mask (values kept exactly)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be HxW, got {mask.shape}")
    if mask.dtype == bool:
        mask = mask.astype(np.uint8) * 255
    ok, buf = cv2.imencode(".png", mask.astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ValueError("could not encode the mask as PNG")
    return _MASK_FORMAT, buf.tobytes()


def decode_mask(fmt: str, data: bytes) -> np.ndarray:
    """mono8 mask (uint8 HxW) from PNG bytes."""
    if not fmt.startswith("mono8;"):
        raise CodecError(f"unsupported compressed mask format {fmt!r}")
    out = cv2.imdecode(np.frombuffer(bytes(data), np.uint8), cv2.IMREAD_UNCHANGED)
    if out is None or out.ndim != 2:
        raise CodecError(f"compressed mask ({len(data)} bytes) does not decode to one channel")
    return out
