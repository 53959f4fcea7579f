"""Four fixed cameras around the arena, as exact pinhole models and PyBullet matrices.

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

from seg_by_interaction.cameras.model import CameraModel

_GL_TO_CV = np.diag([1.0, -1.0, -1.0])


@dataclass
class SimCamera:
    model: CameraModel
    view: list          # PyBullet view matrix (column-major 16)
    projection: list    # PyBullet projection matrix (column-major 16)
    eye: np.ndarray


def make_cameras(cfg: dict) -> list[SimCamera]:
    a = cfg["arena"]
    c = a["cameras"]
    w, h = int(a["image_width"]), int(a["image_height"])
    n = int(a["num_cameras"])
    fov = float(c["vertical_fov_deg"])
    fy = (h / 2) / np.tan(np.radians(fov) / 2)
    K = np.array([[fy, 0, w / 2], [0, fy, h / 2 - 1.0], [0, 0, 1]])
    proj = p.computeProjectionMatrixFOV(fov, w / h, float(c["near"]), float(c["far"]))
    target = [float(v) for v in c["look_at"]]
    out = []
    for i in range(n):
        az = np.radians(float(c["yaw_offset_deg"]) + 360.0 * i / n)
        eye = np.array([c["distance"] * np.cos(az), c["distance"] * np.sin(az), c["height"]], float)
        view = p.computeViewMatrix(eye.tolist(), target, [0, 0, 1])
        V = np.array(view, float).reshape(4, 4).T       # world -> GL camera
        R = _GL_TO_CV @ V[:3, :3]
        t = _GL_TO_CV @ V[:3, 3]
        out.append(SimCamera(CameraModel(width=w, height=h, K=K, R=R, t=t), list(view), list(proj), eye))
    return out
