"""The paper's grasp: top-down at the mask centroid, jaws closing across the
mask's major axis (principal component analysis of the mask's pixels)."""
from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np

from seg_by_interaction.types import CameraModel


@dataclass(frozen=True)
class Grasp:
    """A grasp in one image: pixel centroid, closing direction and jaw opening."""
    u: float              # column of the centroid (px)
    v: float              # row of the centroid (px)
    angle: float          # direction the jaws close along, radians in [0, pi), image axes (x right, y down)
    width_px: float       # mask extent along the closing direction (px)


def plan_grasp(mask: np.ndarray, min_pixels: int) -> Grasp:
    """PCA grasp of a bool [H, W] mask; ValueError for empty or degenerate masks or masks
    under ``min_pixels`` pixels (the caller passes ``grasping.min_pixels``)."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D [H, W], got shape {m.shape}")
    need = int(min_pixels)
    ys, xs = np.nonzero(m)
    if len(xs) < max(need, 2):
        raise ValueError(f"mask has {len(xs)} pixels; a grasp needs at least {max(need, 2)}")
    pts = np.column_stack([xs, ys]).astype(np.float64)
    centre = pts.mean(axis=0)
    cov = np.cov((pts - centre).T)
    evals, evecs = np.linalg.eigh(cov)          # ascending: evecs[:, 1] = major axis
    if evals[1] <= 0:
        raise ValueError("mask is degenerate (all pixels coincide)")
    closing = evecs[:, 0]                        # minor axis = across the major axis
    angle = math.atan2(closing[1], closing[0]) % math.pi
    if angle >= math.pi - 1e-12:
        angle = 0.0
    proj = (pts - centre) @ np.array([math.cos(angle), math.sin(angle)])
    width = float(proj.max() - proj.min() + 1.0)
    return Grasp(u=float(centre[0]), v=float(centre[1]), angle=float(angle), width_px=width)


def grasp_to_arena(grasp: Grasp, camera: CameraModel) -> tuple[float, float, float, float]:
    """(x, y, theta, width_m) on the table plane.

    The two jaw contact points (centroid +- width/2 along the closing direction)
    are mapped through the camera's plane model, so theta and the width come out
    in the arena frame even under perspective (the image angle is not copied).
    theta is in [0, pi): the closing direction, as Pose2D.theta for a pick.
    """
    c, s = math.cos(grasp.angle), math.sin(grasp.angle)
    half = max(grasp.width_px, 1.0) / 2.0
    px = np.array([[grasp.u, grasp.v],
                   [grasp.u - half * c, grasp.v - half * s],
                   [grasp.u + half * c, grasp.v + half * s]])
    pts = camera.pixel_to_plane(px)
    d = pts[2] - pts[1]
    theta = math.atan2(d[1], d[0]) % math.pi
    if theta >= math.pi - 1e-12:
        theta = 0.0
    width_m = float(np.hypot(d[0], d[1])) * grasp.width_px / (2.0 * half)
    return float(pts[0, 0]), float(pts[0, 1]), float(theta), width_m


def check_width(width_m: float, max_width: float) -> None:
    """ValueError when a grasp's extent across the jaws is wider than ``max_width``
    (``grasping.max_width``): such a mask is not one object the gripper can close on (an
    all-ones mask gave a 0.665 m grasp on a 0.44 m workspace)."""
    if not math.isfinite(width_m) or width_m > float(max_width):
        raise ValueError(f"the mask is {width_m:.3f} m across the jaws, wider than "
                         f"grasping.max_width ({float(max_width):.3f} m): no grasp")
