"""A CameraRig fed by callbacks: the real rig's four external cameras.

A ROS node subscribes to the four image topics and calls ``push(cam_id, image,
stamp)`` from each callback; ``capture()`` waits until every camera has delivered
a frame taken after the request, so the four images of one shot are synchronised
(and none predates the robot reaching its pose). No rospy here.
"""
from __future__ import annotations

import threading
import time
from typing import Optional

import numpy as np

from seg_by_interaction.cameras.interface import CameraRig
from seg_by_interaction.cameras.model import CameraModel
from seg_by_interaction.types import Frames


class BufferedCameraRig(CameraRig):
    def __init__(self, cameras: list[CameraModel], timeout: float = 2.0, clock=time.time):
        if not cameras:
            raise ValueError("a camera rig needs at least one camera")
        self._cameras = list(cameras)
        self.timeout = float(timeout)
        self.clock = clock
        self._latest: list[Optional[tuple[np.ndarray, float]]] = [None] * len(cameras)
        self._cv = threading.Condition()

    @property
    def cameras(self) -> list[CameraModel]:
        return self._cameras

    def push(self, cam_id: int, image: np.ndarray, stamp: float) -> None:
        if not 0 <= cam_id < len(self._cameras):
            raise ValueError(f"camera id {cam_id} out of range 0..{len(self._cameras) - 1}")
        cam = self._cameras[cam_id]
        if image.shape[:2] != (cam.height, cam.width):
            raise ValueError(f"camera {cam_id}: image {image.shape[1]}x{image.shape[0]} but calibrated for "
                             f"{cam.width}x{cam.height}")
        with self._cv:
            self._latest[cam_id] = (image, float(stamp))
            self._cv.notify_all()

    def capture(self, include_ground_truth: bool = False) -> Frames:
        if include_ground_truth:
            raise ValueError("ground truth exists in simulation only")
        since = self.clock()
        deadline = time.monotonic() + self.timeout
        with self._cv:
            while True:
                fresh = [f is not None and f[1] >= since for f in self._latest]
                if all(fresh):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = [i for i, ok in enumerate(fresh) if not ok]
                    raise TimeoutError(f"no fresh image from camera(s) {missing} within {self.timeout} s")
                self._cv.wait(left)
            shot = list(self._latest)
        return Frames(images=[f[0] for f in shot], stamp=max(f[1] for f in shot), cameras=self._cameras)
