"""Passive bootstrap (paper 4.3): masks from watching objects move, no labels, no grasps.

The paper pre-trains on a pushing dataset with motion segmentation. Here the arena's
gripper makes random pushes and a camera watches: over a block of frames in which
objects move around, the per-pixel median is the empty table, so each frame's
change against that median (the labeller's illumination-robust change map) splits
into connected blobs. A blob is kept as an example only if it also changed since
the previous frame (it moved: common fate) and its size is object-like. Objects that
never moved stay in the median and are simply missed; touching objects that moved
together come out merged, as in the paper's data, and the robust set loss copes.
"""
from __future__ import annotations

import json
from typing import Iterator, Mapping

import cv2
import numpy as np
from scipy import ndimage
from tqdm import tqdm

from seg_by_interaction.labeling.difference import change_map, clean_change
from seg_by_interaction.types import Example


def median_background(images: list[np.ndarray]) -> np.ndarray:
    """Per-pixel median of a block of frames of one camera: the table without movers."""
    if len(images) < 3:
        raise ValueError("a background needs at least 3 frames")
    return np.median(np.stack(images), axis=0).astype(np.uint8)


def motion_masks(image: np.ndarray, background: np.ndarray, previous: np.ndarray,
                 cfg: Mapping) -> list[np.ndarray]:
    """Object-like blobs of ``image`` that differ from the background and just moved."""
    lab, pc = cfg.labeling, cfg.passive
    fg = clean_change(change_map(background, image, lab), lab)
    moved = clean_change(change_map(previous, image, lab), lab)
    n, labels = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)
    if n <= 1:
        return []
    areas = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, n + 1))
    moved_px = ndimage.sum_labels(moved, labels, index=np.arange(1, n + 1))
    h, w = image.shape[:2]
    out = []
    for k in range(1, n + 1):
        area = areas[k - 1]
        if not (int(pc.min_pixels) < area <= float(pc.max_area_fraction) * h * w):
            continue
        if moved_px[k - 1] < float(pc.min_moved_fraction) * area:
            continue
        mask = labels == k
        ys, xs = np.nonzero(mask)
        if xs.min() == 0 or ys.min() == 0 or xs.max() == w - 1 or ys.max() == h - 1:
            continue  # cut by the image border: not a whole object
        out.append(mask)
    return out


def _random_push(rng: np.random.Generator, workspace, length_range) -> tuple[np.ndarray, np.ndarray]:
    xmin, xmax, ymin, ymax = workspace
    start = np.array([rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)])
    angle = rng.uniform(0, 2 * np.pi)
    end = start + rng.uniform(*length_range) * np.array([np.cos(angle), np.sin(angle)])
    return start, np.clip(end, [xmin, ymin], [xmax, ymax])


def passive_examples(arena, robot, cfg: Mapping, seed: int = 0,
                     progress: bool = True) -> Iterator[tuple[str, int, int, Example]]:
    """Yield (episode_id, camera, blob_index, Example) from random pushes in the arena.

    ``arena``/``robot``: a sim Arena and its SimRobot (the robot moves out of view
    before every shot). Nothing here reads the arena's ground truth.
    """
    pc = cfg.passive
    rng = np.random.default_rng((seed, 31))
    blocks, per_block = int(pc.blocks), int(pc.pushes_per_block)
    bar = tqdm(total=blocks * per_block, desc="passive pushes", disable=not progress)
    for block in range(blocks):
        arena.set_background(None)
        arena.reset_scene()
        robot.home()
        shots = [arena.render().images]
        for _ in range(per_block):
            start, end = _random_push(rng, robot.workspace, pc.push_length)
            arena.push(start, end)
            robot.home()
            shots.append(arena.render().images)
            bar.update(1)
        for cam in range(len(shots[0])):
            background = median_background([s[cam] for s in shots])
            for t in range(1, len(shots)):
                image = shots[t][cam]
                for k, mask in enumerate(motion_masks(image, background, shots[t - 1][cam], cfg)):
                    ys, xs = np.nonzero(mask)
                    yield (f"b{seed}_{block:03d}_{t:03d}", cam, k,
                           Example(image=image, pick_px=(float(xs.mean()), float(ys.mean())),
                                   mask=mask, source="passive",
                                   meta={"block": block, "frame": t}))
    bar.close()


COMPLETE_KEY = "passive_complete"   # store_info: written once every push of a collection is stored


def passive_complete(store) -> bool:
    """Whether the store holds a whole passive bootstrap (its completion marker is set).

    Examples without the marker are a collection that was cut off (a kill mid-run): the
    caller collects again, which stores only what is missing (see ``collect_passive``)."""
    return store.info(COMPLETE_KEY) is not None


def collect_passive(store, arena, robot, cfg: Mapping, seed: int = 0,
                    progress: bool = True, robot_id: str = "passive") -> int:
    """Run the pushes, store every blob as a 'passive' example, then mark the bootstrap
    complete; returns how many blobs the pushes gave.

    Resumable: the pushes are deterministic for a seed and ``add_example`` keys examples by
    (episode, camera, blob), so collecting again after a kill re-stores nothing twice and
    fills in what the killed run had not reached; only a finished run sets the marker."""
    n = 0
    for episode, cam, k, ex in passive_examples(arena, robot, cfg, seed, progress):
        store.add_example(ex.image, ex.pick_px, ex.mask, robot_id=robot_id,
                          interaction_id=episode, camera=cam, pair=k, source="passive",
                          meta=ex.meta)
        n += 1
    store.set_info(COMPLETE_KEY, json.dumps({"seed": int(seed), "examples": n,
                                             "blocks": int(cfg.passive.blocks),
                                             "pushes_per_block": int(cfg.passive.pushes_per_block)}))
    return n
