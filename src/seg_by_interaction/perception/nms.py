"""Masks from window coordinates back to the frame, and greedy mask NMS."""
from __future__ import annotations

import cv2
import numpy as np
import torch


def paste_mask(prob: np.ndarray, x0: float, y0: float, size: float,
               image_hw: tuple[int, int], threshold: float) -> np.ndarray:
    """A window's mask probabilities [m, m] covering the square (x0, y0, size) in frame
    pixels -> a bool frame mask [H, W]; parts of the window outside the frame are cut off."""
    h, w = image_hw
    out = np.zeros((h, w), dtype=bool)
    ix0, iy0 = int(round(x0)), int(round(y0))
    side = max(1, int(round(size)))
    fx0, fy0 = max(ix0, 0), max(iy0, 0)
    fx1, fy1 = min(ix0 + side, w), min(iy0 + side, h)
    if fx1 <= fx0 or fy1 <= fy0:
        return out
    up = cv2.resize(prob.astype(np.float32), (side, side), interpolation=cv2.INTER_LINEAR)
    out[fy0:fy1, fx0:fx1] = up[fy0 - iy0:fy1 - iy0, fx0 - ix0:fx1 - ix0] >= threshold
    return out


def mask_iou_matrix(masks: np.ndarray) -> np.ndarray:
    """Pairwise IoU of bool masks [N, H, W] -> [N, N]."""
    flat = torch.from_numpy(masks.reshape(len(masks), -1)).float()
    inter = (flat @ flat.T).double()            # pixel counts: exact in float32 below 2^24
    area = flat.sum(1).double()
    union = area[:, None] + area[None, :] - inter
    return (inter / union.clamp(min=1)).numpy()  # divided in float64: 12/40 stays 0.3


def greedy_mask_nms(masks: np.ndarray, scores: np.ndarray, iou_threshold: float,
                    max_keep: int | None = None) -> list[int]:
    """Indices kept by greedy NMS: in score order, keep a mask unless its IoU with an
    already kept one exceeds ``iou_threshold``."""
    if len(masks) == 0:
        return []
    order = np.argsort(-np.asarray(scores), kind="stable")
    ious = mask_iou_matrix(masks)
    keep: list[int] = []
    for i in order:
        if all(ious[i, j] <= iou_threshold for j in keep):
            keep.append(int(i))
            if max_keep is not None and len(keep) >= max_keep:
                break
    return keep


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), exclusive, of a non-empty bool mask."""
    ys = np.flatnonzero(mask.any(1))
    xs = np.flatnonzero(mask.any(0))
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1
