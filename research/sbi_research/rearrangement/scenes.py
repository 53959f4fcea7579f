"""Arena rearrangement episodes: a scene, its target view, 1-3 objects displaced, and
the ground-truth measure of how close the scene came back to the target.

The measure never uses a segmenter: every object's true position (PyBullet) is
projected through the camera model, and an episode succeeds when every object lies
within the tolerance (15 px) of where it lay in the target view.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as p

from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.types import Frames

SCENE_TRIES = 20        # fresh scenes drawn before giving up on one with room to displace
DROP_GAP = 0.002        # m between a teleported object's bottom and the table


@dataclass
class Episode:
    """A prepared episode: the target view and where every object belongs."""
    index: int
    camera: int
    target: Frames                              # rendered with instance maps
    target_positions: dict[int, np.ndarray]     # object id -> arena xyz in the target scene
    displaced: list[int]


def object_positions(arena: Arena) -> dict[int, np.ndarray]:
    return {k: np.asarray(arena.object_pose(k), dtype=np.float64) for k in arena.object_ids()}


def pixel_errors(arena: Arena, episode: Episode) -> dict[int, float]:
    """Per object: pixel distance between its projection now and in the target view."""
    cam = arena.cameras[episode.camera]
    now = object_positions(arena)
    ids = sorted(episode.target_positions)
    a = cam.project(np.stack([now[k] for k in ids]))
    b = cam.project(np.stack([episode.target_positions[k] for k in ids]))
    return {k: float(d) for k, d in zip(ids, np.linalg.norm(a - b, axis=1))}


def _teleport(arena: Arena, obj: int, xy, yaw: float) -> None:
    """Lift ``obj`` to (x, y), turn it by ``yaw`` about the vertical, at rest."""
    body = arena.object_body(obj)
    pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=arena.cid)
    lo, _ = arena.object_aabb(obj)
    turned = p.multiplyTransforms([0, 0, 0], p.getQuaternionFromEuler([0, 0, yaw]),
                                  [0, 0, 0], orn)[1]
    z = float(pos[2]) - float(lo[2]) + DROP_GAP
    p.resetBasePositionAndOrientation(body, [float(xy[0]), float(xy[1]), z], turned,
                                      physicsClientId=arena.cid)
    p.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0], physicsClientId=arena.cid)


def _free_spot(rng: np.random.Generator, workspace, margin: float, occupied: np.ndarray,
               origin: np.ndarray, min_move: float, candidates: int) -> tuple[np.ndarray, float]:
    """The freest of ``candidates`` random spots at least ``min_move`` from ``origin``."""
    x0, x1, y0, y1 = workspace
    pts = rng.uniform([x0 + margin, y0 + margin], [x1 - margin, y1 - margin], size=(candidates, 2))
    pts = pts[np.linalg.norm(pts - origin, axis=1) >= min_move]
    if len(pts) == 0:
        return origin, 0.0
    free = np.linalg.norm(pts[:, None, :] - occupied[None, :, :], axis=2).min(1) \
        if len(occupied) else np.full(len(pts), np.inf)
    best = int(np.argmax(free))
    return pts[best], float(free[best])


def prepare_episode(arena: Arena, cfg: dict, index: int, seed: int) -> Episode:
    """A fresh scene (same ``seed`` and ``index`` -> same scene), its target view, and
    1-3 of the objects visible in the camera moved to random free spots."""
    rc, ec = cfg.rearrangement, cfg.rearrangement.evaluation
    min_pixels = int(rc.min_segment_pixels)
    rng = np.random.default_rng((int(seed), int(index)))
    arena.rng = np.random.default_rng((int(seed), int(index), 1))   # scene choice, background
    cams = len(arena.cameras)
    for _ in range(SCENE_TRIES):
        camera = int(rng.integers(cams)) if ec.camera == "random" else int(ec.camera)
        if not 0 <= camera < cams:
            raise ValueError(f"rearrangement.evaluation.camera {camera} does not exist "
                             f"({cams} cameras)")
        arena.set_background(None)
        lo, hi = (int(v) for v in ec.objects_per_scene)
        arena.reset_scene(int(rng.integers(lo, hi + 1)))
        target = arena.render(include_ground_truth=True)
        targets = object_positions(arena)
        ids, counts = np.unique(target.gt_instances[camera], return_counts=True)
        visible = [int(k) for k, c in zip(ids, counts) if k > 0 and c >= min_pixels]
        lo, hi = (int(v) for v in ec.displaced)
        count = min(int(rng.integers(lo, hi + 1)), len(visible))
        chosen = [visible[i] for i in rng.choice(len(visible), size=count, replace=False)]
        displaced = []
        for obj in chosen:
            now = object_positions(arena)
            occupied = [targets[k][:2] for k in arena.object_ids()]
            occupied += [now[k][:2] for k in arena.object_ids() if k != obj]
            spot, free = _free_spot(rng, arena.workspace, float(ec.place_margin),
                                    np.array(occupied), targets[obj][:2],
                                    float(ec.min_displacement), int(ec.candidates))
            if free < float(ec.clearance):
                continue   # no room: this object stays where it belongs
            _teleport(arena, obj, spot, float(rng.uniform(-np.pi, np.pi)))
            displaced.append(obj)
        if displaced:
            arena.settle()
            return Episode(index, camera, target, targets, displaced)
    raise RuntimeError(f"{SCENE_TRIES} scenes in a row left no room to displace a visible object")
