"""Plain data types shared by the library's modules: the bottom layer, importing no other
module of the package (no ROS, no torch).

Images are numpy arrays: RGB uint8 [H, W, 3]; masks bool [H, W]; ground-truth
instance maps int32 [H, W] with 0 = background and k > 0 = arena object id k.
Arena coordinates are metres in the table plane (origin at the arena centre,
z up, table surface at z = 0); angles are radians.

A camera is a pinhole looking at the arena plane (``CameraModel``): OpenCV conventions,
x_cam = R @ x_world + t, camera z forward, pixel (u, v) = (column, row). The table plane
is z = 0 in the arena frame, so the plane->pixel map is the homography H = K [r1 r2 t]; a
real rig calibrated only by clicked points has H alone (``from_homography``) and still
maps pixels to the plane.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class Pose2D:
    """A top-down pose on the arena plane: position (m) and yaw (rad)."""
    x: float
    y: float
    theta: float = 0.0


@dataclass
class CameraModel:
    width: int
    height: int
    K: Optional[np.ndarray] = None      # 3x3 intrinsics
    R: Optional[np.ndarray] = None      # 3x3 world->camera rotation
    t: Optional[np.ndarray] = None      # 3 world->camera translation
    H: Optional[np.ndarray] = None      # 3x3 plane (x, y, 1) -> pixel, derived if K/R/t given

    def __post_init__(self):
        if self.K is not None:
            self.K = np.asarray(self.K, dtype=np.float64).reshape(3, 3)
            self.R = np.asarray(self.R, dtype=np.float64).reshape(3, 3)
            self.t = np.asarray(self.t, dtype=np.float64).reshape(3)
            if self.H is None:
                self.H = self.K @ np.column_stack([self.R[:, 0], self.R[:, 1], self.t])
        if self.H is None:
            raise ValueError("CameraModel needs K, R, t or a plane homography H")
        self.H = np.asarray(self.H, dtype=np.float64).reshape(3, 3)
        if abs(np.linalg.det(self.H)) < 1e-12:
            raise ValueError("camera homography is singular (camera sees the plane edge-on?)")
        self._H_inv = np.linalg.inv(self.H)

    @classmethod
    def from_homography(cls, H, width: int, height: int) -> "CameraModel":
        return cls(width=int(width), height=int(height), H=np.asarray(H, dtype=np.float64))

    @property
    def has_pose(self) -> bool:
        return self.K is not None

    def project(self, points: np.ndarray) -> np.ndarray:
        """Arena points [N, 3] (or [N, 2] on the plane) -> pixels [N, 2]."""
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if pts.shape[1] == 2 or not self.has_pose:
            if pts.shape[1] == 3 and np.any(np.abs(pts[:, 2]) > 1e-9):
                raise ValueError("a homography-only camera can project plane points only")
            h = np.column_stack([pts[:, :2], np.ones(len(pts))]) @ self.H.T
        else:
            h = (pts @ self.R.T + self.t) @ self.K.T
        return h[:, :2] / h[:, 2:3]

    def pixel_to_plane(self, pixels: np.ndarray, z: float = 0.0) -> np.ndarray:
        """Pixels [N, 2] -> arena points [N, 2] where the viewing rays meet plane z."""
        px = np.atleast_2d(np.asarray(pixels, dtype=np.float64))
        if z == 0.0 or not self.has_pose:
            if z != 0.0:
                raise ValueError("a homography-only camera knows the table plane only")
            h = np.column_stack([px, np.ones(len(px))]) @ self._H_inv.T
            return h[:, :2] / h[:, 2:3]
        rays = np.column_stack([px, np.ones(len(px))]) @ np.linalg.inv(self.K).T @ self.R  # world dirs
        centre = -self.R.T @ self.t
        s = (z - centre[2]) / rays[:, 2]
        return (centre[None, :] + s[:, None] * rays)[:, :2]

    def in_image(self, pixels: np.ndarray) -> np.ndarray:
        px = np.atleast_2d(pixels)
        return (px[:, 0] >= 0) & (px[:, 0] < self.width) & (px[:, 1] >= 0) & (px[:, 1] < self.height)

    def to_dict(self) -> dict:
        d = {"width": self.width, "height": self.height, "H": self.H.tolist()}
        if self.has_pose:
            d.update(K=self.K.tolist(), R=self.R.tolist(), t=self.t.tolist())
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CameraModel":
        try:
            return cls(width=int(d["width"]), height=int(d["height"]), K=d.get("K"),
                       R=d.get("R"), t=d.get("t"), H=d.get("H"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"invalid camera description: {exc}") from exc


@dataclass
class Frames:
    """One synchronised shot of every camera (index = camera id)."""
    images: list[np.ndarray]
    stamp: float
    cameras: list[CameraModel]
    gt_instances: Optional[list[np.ndarray]] = None  # sim only; never for learning


@dataclass
class Hypothesis:
    """A segment the model believes might be one object."""
    mask: np.ndarray            # bool [H, W]
    score: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), pixels


@dataclass
class Example:
    """One training example, whatever produced it.

    ``mask`` is None for a negative ("nothing there"). ``pick_px`` is the (x, y)
    pixel the robot tried to pick at. ``source`` is one of SOURCES.
    """
    image: np.ndarray
    pick_px: tuple[float, float]
    mask: Optional[np.ndarray]
    source: str = "interaction"
    meta: dict = field(default_factory=dict)

    @property
    def positive(self) -> bool:
        return self.mask is not None


SOURCES = ("interaction", "passive", "ground_truth")
