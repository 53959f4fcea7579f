"""Real cameras on ROS topics as a CameraRig: message_filters syncs ``camN/image_raw``.

``capture()`` returns the first synchronised set whose every image was taken after the
request, so a shot asked for after the arm moved never shows the arm mid-motion.
"""
from __future__ import annotations

import threading
import time

import message_filters
import rospy
from sensor_msgs.msg import Image

from seg_by_interaction.cameras.interface import CameraRig
from seg_by_interaction.cameras.model import CameraModel
from seg_by_interaction.ros.conversions import msg_to_rgb
from seg_by_interaction.types import Frames


class TopicCameraRig(CameraRig):
    def __init__(self, cameras: list[CameraModel], slop: float, timeout: float,
                 topic_pattern: str = "cam{}/image_raw"):
        self._cameras = list(cameras)
        self.timeout = float(timeout)
        self._cond = threading.Condition()
        self._latest: tuple[float, list[Image]] | None = None
        subs = [message_filters.Subscriber(topic_pattern.format(k), Image, buff_size=2 ** 24)
                for k in range(len(self._cameras))]
        self._sync = message_filters.ApproximateTimeSynchronizer(subs, queue_size=10, slop=slop)
        self._sync.registerCallback(self._on_set)

    @property
    def cameras(self) -> list[CameraModel]:
        return self._cameras

    def _on_set(self, *images: Image):
        oldest = min(img.header.stamp.to_sec() for img in images)
        with self._cond:
            self._latest = (oldest, list(images))
            self._cond.notify_all()

    def capture(self, include_ground_truth: bool = False) -> Frames:
        asked = rospy.Time.now().to_sec()
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while self._latest is None or self._latest[0] < asked:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no synchronised set of {len(self._cameras)} cameras "
                                       f"within {self.timeout:.1f} s")
                self._cond.wait(left)
            stamp, images = self._latest
        for k, (img, cam) in enumerate(zip(images, self._cameras)):
            if (img.width, img.height) != (cam.width, cam.height):
                raise ValueError(f"camera {k} sends {img.width}x{img.height}, calibrated for "
                                 f"{cam.width}x{cam.height}")
        return Frames(images=[msg_to_rgb(i) for i in images], stamp=stamp, cameras=self._cameras)
