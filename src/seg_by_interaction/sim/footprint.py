"""An object's footprint on the table from its ground-truth masks in all cameras.

Back-projecting each camera's mask onto a horizontal plane and intersecting the
views gives the object's cross-section there (tall sides smear away from each camera
differently and cancel out). A tall thin object (a standing bottle) may leave no
common cell on the table plane itself, where each camera sees a different side of
its base, so a few plane heights are tried and the largest cross-section is used.
Its centroid and principal axis give the paper's grasp: at the centroid, jaws
closing across the major axis. Used by tests and benchmarks to aim the gripper
without a learned model.
"""
from __future__ import annotations

import math

import numpy as np

from seg_by_interaction.types import Frames, Pose2D


PLANE_HEIGHTS = (0.0, 0.01, 0.02, 0.04)     # m: where cross-sections are tried


def _cross_section(frames: Frames, obj_id: int, workspace, cell: float, z: float) -> np.ndarray:
    x0, x1, y0, y1 = workspace
    pad = 0.1
    nx, ny = int((x1 - x0 + 2 * pad) / cell), int((y1 - y0 + 2 * pad) / cell)
    votes = np.zeros((ny, nx), np.int32)
    seen = 0
    for cam, gt in zip(frames.cameras, frames.gt_instances):
        ys, xs = np.nonzero(gt == obj_id)
        if len(xs) == 0:
            continue
        seen += 1
        xy = cam.pixel_to_plane(np.column_stack([xs, ys]).astype(float), z=z)
        ix = ((xy[:, 0] - x0 + pad) / cell).astype(int)
        iy = ((xy[:, 1] - y0 + pad) / cell).astype(int)
        ok = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        hit = np.zeros_like(votes, bool)
        hit[iy[ok], ix[ok]] = True
        votes += hit
    if seen == 0:
        return np.zeros((0, 2))
    iy, ix = np.nonzero(votes >= seen)
    return np.column_stack([ix * cell + x0 - pad, iy * cell + y0 - pad])


def footprint_grasp(frames: Frames, obj_id: int, workspace, cell: float = 0.002) -> Pose2D | None:
    pts = max((_cross_section(frames, obj_id, workspace, cell, z) for z in PLANE_HEIGHTS), key=len)
    if len(pts) < 3:
        return None
    c = pts.mean(0)
    evals, evecs = np.linalg.eigh(np.cov((pts - c).T))
    major = evecs[:, int(np.argmax(evals))]
    theta = math.atan2(major[1], major[0]) + math.pi / 2   # jaws close across the major axis
    return Pose2D(float(c[0]), float(c[1]), float(theta))
