"""The arena's cameras around the table, as exact pinhole models and PyBullet matrices.

``make_cameras(cfg)`` is the standard rig (arena.cameras: the same four poses in every
scene, the test split's views). ``sample_rig`` draws a rig from ranges
(arena.cameras.vary: distance, height, aim, field of view, resolution), so the learner
sees cameras anywhere; a drawn rig is kept only if every view sees table, not sky, in all
its corners (beyond the table the CPU renderer draws white).

The OpenGL view/projection that PyBullet renders with and the OpenCV K, R, t in
``CameraModel`` describe the same camera, so pixel <-> arena-plane mapping is exact:
OpenGL camera axes (x right, y up, z back) become OpenCV's (x right, y down,
z forward) by flipping y and z. The TinyRenderer samples pixel (i, j) at the viewport
coordinate (i, H - 1 - j), so the principal point is (W/2, H/2 - 1) in OpenCV's
pixel-centre convention (checked by test_arena_sim: rendered marker centroids land
within 0.3 px of the model's projection).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as p

from seg_by_interaction.types import CameraModel

_GL_TO_CV = np.diag([1.0, -1.0, -1.0])


@dataclass
class SimCamera:
    model: CameraModel
    view: list          # PyBullet view matrix (column-major 16)
    projection: list    # PyBullet projection matrix (column-major 16)
    eye: np.ndarray


@dataclass(frozen=True)
class RigSpec:
    """Where a rig's cameras are: one height, distance, field of view and resolution for all,
    each camera at its own azimuth, aimed at its own point on the table."""
    distance: float
    height: float
    vertical_fov_deg: float
    width: int
    height_px: int
    azimuths_deg: tuple
    look_at: tuple          # one (x, y, z) per camera

    def to_dict(self) -> dict:
        return {"distance": self.distance, "height": self.height,
                "vertical_fov_deg": self.vertical_fov_deg, "resolution": [self.width, self.height_px],
                "azimuths_deg": list(self.azimuths_deg), "look_at": [list(p) for p in self.look_at]}


def standard_rig(cfg: dict) -> RigSpec:
    """The fixed rig of arena.cameras (the paper's set-up)."""
    a, c = cfg.arena, cfg.arena.cameras
    n = int(a.num_cameras)
    return RigSpec(distance=float(c.distance), height=float(c.height),
                   vertical_fov_deg=float(c.vertical_fov_deg), width=int(a.image_width),
                   height_px=int(a.image_height),
                   azimuths_deg=tuple(float(c.yaw_offset_deg) + 360.0 * i / n for i in range(n)),
                   look_at=tuple(tuple(float(v) for v in c.look_at) for _ in range(n)))


def make_cameras(cfg: dict, rig: RigSpec | None = None) -> list[SimCamera]:
    """The cameras of ``rig`` (default: the standard rig)."""
    c = cfg.arena.cameras
    rig = rig or standard_rig(cfg)
    w, h = int(rig.width), int(rig.height_px)
    fov = float(rig.vertical_fov_deg)
    fy = (h / 2) / np.tan(np.radians(fov) / 2)
    K = np.array([[fy, 0, w / 2], [0, fy, h / 2 - 1.0], [0, 0, 1]])
    proj = p.computeProjectionMatrixFOV(fov, w / h, float(c.near), float(c.far))
    out = []
    for az_deg, target in zip(rig.azimuths_deg, rig.look_at):
        az = np.radians(az_deg)
        eye = np.array([rig.distance * np.cos(az), rig.distance * np.sin(az), rig.height], float)
        view = p.computeViewMatrix(eye.tolist(), list(target), [0, 0, 1])
        V = np.array(view, float).reshape(4, 4).T       # world -> GL camera
        R = _GL_TO_CV @ V[:3, :3]
        t = _GL_TO_CV @ V[:3, 3]
        out.append(SimCamera(CameraModel(width=w, height=h, K=K, R=R, t=t), list(view), list(proj), eye))
    return out


def sees_only_table(camera: CameraModel, table_half: float) -> bool:
    """Every corner ray of the image meets the table plane in front of the camera, within the
    table's square: the view shows no edge of the world."""
    corners = np.array([[0, 0], [camera.width - 1, 0], [0, camera.height - 1],
                        [camera.width - 1, camera.height - 1]], float)
    rays = np.column_stack([corners, np.ones(4)]) @ np.linalg.inv(camera.K).T @ camera.R
    if np.any(rays[:, 2] >= -1e-6):                  # a corner looks up or along the table
        return False
    hits = camera.pixel_to_plane(corners)
    return bool(np.all(np.abs(hits) < table_half))


def _in_middle_half(value: float, rng_pair) -> bool:
    lo, hi = (float(v) for v in rng_pair)
    return lo + 0.25 * (hi - lo) <= value <= hi - 0.25 * (hi - lo)


def sample_rig(cfg: dict, rng: np.random.Generator, ranges: dict, tries: int = 400,
               avoid_centre_of: dict | None = None) -> RigSpec:
    """A rig drawn from ``ranges`` (an arena.cameras.vary section); every view sees only table
    and the workspace centre. ``avoid_centre_of`` (training ranges): a rig whose distance,
    height and field of view all lie in the middle half of those ranges is drawn again (the
    out-of-arena set's cameras). ValueError if no draw in ``tries`` qualifies."""
    a = cfg.arena
    n = int(a.num_cameras)
    base_w, base_h = int(a.image_width), int(a.image_height)
    table_half = float(a.table_size) / 2
    yaw0 = float(cfg.arena.cameras.yaw_offset_deg)
    for _ in range(int(tries)):
        dist = float(rng.uniform(*ranges.distance))
        height = float(rng.uniform(*ranges.height))
        fov = float(rng.uniform(*ranges.vertical_fov_deg))
        res = float(2.0 ** rng.uniform(*np.log2(np.asarray(ranges.resolution_scale, float))))
        w, h = int(round(base_w * res / 2) * 2), int(round(base_h * res / 2) * 2)
        jitter = float(ranges.yaw_jitter_deg)
        az = tuple(yaw0 + 360.0 * i / n + float(rng.uniform(-jitter, jitter)) for i in range(n))
        aim = float(ranges.look_at_jitter)
        look = tuple((float(rng.uniform(-aim, aim)), float(rng.uniform(-aim, aim)), 0.0) for _ in range(n))
        rig = RigSpec(dist, height, fov, w, h, az, look)
        if avoid_centre_of is not None and all(
                _in_middle_half(v, avoid_centre_of[k]) for v, k in
                ((dist, "distance"), (height, "height"), (fov, "vertical_fov_deg"))):
            continue
        cams = [sc.model for sc in make_cameras(cfg, rig)]
        if all(sees_only_table(c, table_half) and c.in_image(c.project(np.zeros((1, 2))))[0]
               for c in cams):
            return rig
    raise ValueError(f"no camera rig from {ranges} in {tries} draws sees only table "
                     f"(arena.table_size {a['table_size']} m): narrow the ranges")
