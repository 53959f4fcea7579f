"""Synthetic blob scenes: frames with obvious objects and their masks, for tests and
benchmarks of the perception/training code without the simulator."""
from __future__ import annotations

import cv2
import numpy as np

from seg_by_interaction.types import Example


def blob_scene(rng: np.random.Generator, height: int = 350, width: int = 430,
               num_objects: int = 3, size_range=(50, 110), margin: int = 0):
    """(RGB uint8 image, list of bool masks): coloured ellipses and rectangles on a
    noisy, dull background; objects do not overlap. ``margin`` < 0 lets objects cross
    the image border."""
    base = rng.integers(60, 120, size=3)
    image = np.clip(base + rng.normal(0, 8, (height, width, 3)), 0, 255).astype(np.uint8)
    occupied = np.zeros((height, width), bool)
    masks = []
    for _ in range(200):
        if len(masks) == num_objects:
            break
        w, h = (int(v) for v in rng.integers(size_range[0], size_range[1] + 1, size=2))
        cx = int(rng.integers(margin + w // 2, max(margin + w // 2 + 1, width - margin - w // 2)))
        cy = int(rng.integers(margin + h // 2, max(margin + h // 2 + 1, height - margin - h // 2)))
        mask = np.zeros((height, width), np.uint8)
        if rng.random() < 0.5:
            cv2.ellipse(mask, (cx, cy), (w // 2, h // 2), float(rng.uniform(0, 180)), 0, 360, 1, -1)
        else:
            cv2.rectangle(mask, (cx - w // 2, cy - h // 2), (cx + w // 2, cy + h // 2), 1, -1)
        mask = mask.astype(bool)
        if not mask.any() or (mask & cv2.dilate(occupied.astype(np.uint8), np.ones((9, 9))).astype(bool)).any():
            continue
        colour = rng.integers(0, 256, size=3)
        while np.abs(colour - base).sum() < 200:
            colour = rng.integers(0, 256, size=3)
        image[mask] = np.clip(colour + rng.normal(0, 6, (mask.sum(), 3)), 0, 255).astype(np.uint8)
        occupied |= mask
        masks.append(mask)
    return image, masks


def corrupt_mask(mask: np.ndarray, rng: np.random.Generator, strength: float = 0.3) -> np.ndarray:
    """A noisy version of a mask, like a difference-image label: grown or shrunk, with
    a spurious blob beside it and a bite taken out."""
    out = mask.astype(np.uint8)
    k = max(1, int(strength * np.sqrt(mask.sum()) / 3))
    kernel = np.ones((2 * k + 1, 2 * k + 1), np.uint8)
    out = cv2.dilate(out, kernel) if rng.random() < 0.5 else cv2.erode(out, kernel)
    ys, xs = np.nonzero(mask)
    if len(xs):
        r = max(2, int(strength * np.sqrt(mask.sum()) / 2))
        i = int(rng.integers(len(xs)))
        cv2.circle(out, (int(xs[i]) + r, int(ys[i]) + r), r, 1, -1)
        j = int(rng.integers(len(xs)))
        cv2.circle(out, (int(xs[j]), int(ys[j])), r, 0, -1)
    out = out.astype(bool)
    return out if out.any() else mask.copy()


def blob_examples(rng: np.random.Generator, num_images: int, noise: float = 0.0,
                  negatives_per_image: int = 1, source: str = "interaction",
                  **scene_kwargs) -> list[Example]:
    """Examples from blob scenes: one positive per object (pick at its centroid; mask
    corrupted when noise > 0) and negatives picked on the background."""
    examples = []
    for _ in range(num_images):
        image, masks = blob_scene(rng, **scene_kwargs)
        for m in masks:
            ys, xs = np.nonzero(m)
            label = corrupt_mask(m, rng, noise) if noise > 0 else m
            examples.append(Example(image=image, pick_px=(float(xs.mean()), float(ys.mean())),
                                    mask=label, source=source))
        background = ~np.any(masks, axis=0) if masks else np.ones(image.shape[:2], bool)
        ys, xs = np.nonzero(background)
        for _ in range(negatives_per_image):
            i = int(rng.integers(len(xs)))
            examples.append(Example(image=image, pick_px=(float(xs[i]), float(ys[i])),
                                    mask=None, source=source))
    return examples


def add_blob_example(store, rng: np.random.Generator, source: str, k: int) -> None:
    """One 120x160 single-object example into a DatasetStore, picked at the object's centre
    (interaction id ``f"{source}{k}"``): the smallest store an online trainer can learn from."""
    image, masks = blob_scene(rng, 120, 160, num_objects=1, size_range=(30, 40))
    ys, xs = np.nonzero(masks[0])
    store.add_example(image, (xs.mean(), ys.mean()), masks[0], robot_id="r",
                      interaction_id=f"{source}{k}", source=source)
