"""The DeepMask trunk's own features, averaged over a segment's mask.

The trunk (ResNet-18 to stride 16) is what the robot learned to see by interacting; if
its features tell objects apart, matching needs no ImageNet weights (paper 6.3.1 uses
AlexNet). The frame is resized by ``scale`` first so an object spans several cells; each
mask is area-resized to the feature grid and used as pooling weights; vectors are
L2-normalised, so Euclidean distance is a cosine distance (0..sqrt 2, features are
post-ReLU).
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import torch

from seg_by_interaction.perception.windows import resize


class TrunkDescriptor:
    def __init__(self, model, scale: float):
        if scale <= 0:
            raise ValueError(f"trunk scale must be > 0, got {scale}")
        self.model = model
        self.scale = float(scale)

    @torch.inference_mode()
    def features(self, image: np.ndarray) -> np.ndarray:
        """Trunk features [C, h, w] of the resized frame."""
        scaled = resize(np.ascontiguousarray(image), self.scale)
        device = next(self.model.parameters()).device
        x = torch.from_numpy(np.ascontiguousarray(scaled)).permute(2, 0, 1)[None].to(device)
        was_training = self.model.training
        self.model.eval()
        try:
            feats = self.model.trunk(self.model.normalise(x))[0]
        finally:
            self.model.train(was_training)
        return feats.float().cpu().numpy()

    def __call__(self, image: np.ndarray, masks: Sequence[np.ndarray]) -> np.ndarray:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be RGB uint8 [H, W, 3], got {image.dtype} {image.shape}")
        if len(masks) == 0:
            return np.zeros((0, int(self.model.trunk[-1][-1].conv2.out_channels)))
        feats = self.features(image)
        c, h, w = feats.shape
        flat = feats.reshape(c, -1)
        out = []
        for mask in masks:
            m = np.asarray(mask, dtype=bool)
            if m.shape != image.shape[:2] or not m.any():
                raise ValueError(f"mask {m.shape} must be non-empty and fit the image {image.shape[:2]}")
            weights = cv2.resize(m.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA).ravel()
            if weights.sum() <= 1e-6:   # a sliver smaller than a cell: the cell of its centroid
                ys, xs = np.nonzero(m)
                weights = np.zeros(h * w, np.float32)
                cy = min(h - 1, int(ys.mean() * h / m.shape[0]))
                cx = min(w - 1, int(xs.mean() * w / m.shape[1]))
                weights[cy * w + cx] = 1.0
            v = flat @ weights / weights.sum()
            out.append(v / max(float(np.linalg.norm(v)), 1e-12))
        return np.stack(out)
