"""Cameras on ROS topics as a CameraRig: message_filters syncs ``camN/image_raw``.

The same rig serves the simulated world and real cameras. ``capture()`` returns the first
synchronised set whose every image was taken after the request, so a shot asked for
after the arm moved never shows the arm mid-motion. With a ``trigger`` (the simulated
world's software trigger) it fires the cameras first and waits for that shot. A camera
that stays silent, or sends another size than its model, is named in the error.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Optional

import message_filters
import rospy
from sensor_msgs.msg import CameraInfo, Image

from seg_by_interaction.cameras.interface import CameraRig
from seg_by_interaction.cameras.model import CameraModel
from seg_by_interaction.ros.conversions import msg_to_camera, msg_to_rgb
from seg_by_interaction.types import Frames


def cameras_from_info(count: int, timeout: float,
                      pattern: str = "cam{}/camera_info") -> list[CameraModel]:
    """Camera models from each camera's latched camera_info (the simulated world's)."""
    models = []
    for k in range(count):
        topic = rospy.resolve_name(pattern.format(k))
        try:
            info = rospy.wait_for_message(topic, CameraInfo, timeout=timeout)
        except rospy.ROSException as exc:
            raise TimeoutError(f"no camera_info on {topic} within {timeout:.0f} s") from exc
        models.append(msg_to_camera(info))
    return models


class TopicCameraRig(CameraRig):
    def __init__(self, cameras: list[CameraModel], slop: float, timeout: float,
                 topic_pattern: str = "cam{}/image_raw",
                 trigger: Optional[Callable[[], float]] = None):
        """``trigger()``: fire the cameras, return the shot's stamp (s); None: free-running."""
        self._cameras = list(cameras)
        self.timeout = float(timeout)
        self.trigger = trigger
        self._topics = [rospy.resolve_name(topic_pattern.format(k)) for k in range(len(cameras))]
        self._cond = threading.Condition()
        self._latest: tuple[float, list[Image]] | None = None
        self._last_seen = [-1.0] * len(self._cameras)        # newest stamp per camera
        subs = []
        for k, topic in enumerate(self._topics):
            sub = message_filters.Subscriber(topic, Image, buff_size=2 ** 24)
            sub.registerCallback(self._on_image, k)
            subs.append(sub)
        self._sync = message_filters.ApproximateTimeSynchronizer(subs, queue_size=10, slop=slop)
        self._sync.registerCallback(self._on_set)

    @property
    def cameras(self) -> list[CameraModel]:
        return self._cameras

    def _on_image(self, img: Image, k: int):
        with self._cond:
            self._last_seen[k] = max(self._last_seen[k], img.header.stamp.to_sec())

    def _on_set(self, *images: Image):
        oldest = min(img.header.stamp.to_sec() for img in images)
        with self._cond:
            self._latest = (oldest, list(images))
            self._cond.notify_all()

    def capture(self, include_ground_truth: bool = False) -> Frames:
        if include_ground_truth:
            raise ValueError("cameras give no ground truth (the simulated world publishes it "
                             "on debug/camN/instances)")
        asked = rospy.Time.now().to_sec()
        if self.trigger is not None:
            asked = float(self.trigger())        # wait for exactly that shot
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while self._latest is None or self._latest[0] < asked:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(self._silence(asked))
                self._cond.wait(left)
            stamp, images = self._latest
        for k, (img, cam) in enumerate(zip(images, self._cameras)):
            if (img.width, img.height) != (cam.width, cam.height):
                raise ValueError(f"camera {k} ({self._topics[k]}) sends {img.width}x{img.height}, "
                                 f"its model is {cam.width}x{cam.height}")
        return Frames(images=[msg_to_rgb(i) for i in images], stamp=stamp, cameras=self._cameras)

    def _silence(self, asked: float) -> str:
        silent = [f"{k} ({t})" for k, (t, seen) in enumerate(zip(self._topics, self._last_seen))
                  if seen < asked]
        what = (f"camera {', '.join(silent)} sent no image since the request" if silent else
                "every camera sent images, but never within the sync slop of each other")
        return (f"no synchronised set of {len(self._cameras)} cameras within "
                f"{self.timeout:.1f} s: {what}")
