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
from seg_by_interaction.types import CameraModel
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
                 trigger: Optional[Callable[[], float]] = None,
                 info_pattern: Optional[str] = None):
        """``trigger()``: fire the cameras, return the shot's stamp (s); None: free-running.
        ``info_pattern`` (the simulated world's ``cam{}/camera_info``): follow the models the
        cameras publish, so a set of images is paired with the models of its own shot (the
        world's cameras move between scenes); None: ``cameras`` are fixed (a calibration)."""
        self._cameras = list(cameras)
        self._info: list[dict[float, CameraModel]] = [dict() for _ in cameras]   # stamp -> model
        self._follow_info = info_pattern is not None
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
        if info_pattern is not None:
            for k in range(len(cameras)):
                rospy.Subscriber(rospy.resolve_name(info_pattern.format(k)), CameraInfo,
                                 self._on_info, callback_args=k, queue_size=4)

    def _on_info(self, info: CameraInfo, k: int):
        try:
            model = msg_to_camera(info)
        except (ValueError, TypeError) as exc:
            rospy.logerr("camera %d: unusable camera_info: %s", k, exc)
            return
        with self._cond:
            models = self._info[k]
            models[info.header.stamp.to_sec()] = model
            for old in sorted(models)[:-8]:       # a few recent shots are enough
                del models[old]
            self._cond.notify_all()

    def _model(self, k: int, stamp: float) -> Optional[CameraModel]:
        """Camera k's model for an image stamped ``stamp``: the fixed one, or (following the
        published models) the one stamped like it; for a triggered shot None until it has
        arrived, for free-running cameras the latest one."""
        if not self._follow_info:
            return self._cameras[k]
        for t, model in self._info[k].items():
            if abs(t - stamp) < 1e-4:
                return model
        if self.trigger is None:      # free-running drivers may latch one camera_info: the latest
            return self._info[k][max(self._info[k])] if self._info[k] else self._cameras[k]
        return None                   # the world sends each shot's models: wait for them

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
            # the shot's camera models (sent beside its images) may come a moment later
            while True:
                cameras = [self._model(k, img.header.stamp.to_sec()) for k, img in enumerate(images)]
                if all(c is not None for c in cameras):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = [self._topics[k] for k, c in enumerate(cameras) if c is None]
                    raise TimeoutError(f"no camera_info stamped like the images of {', '.join(missing)}"
                                       f" within {self.timeout:.1f} s")
                self._cond.wait(left)
        for k, (img, cam) in enumerate(zip(images, cameras)):
            if (img.width, img.height) != (cam.width, cam.height):
                raise ValueError(f"camera {k} ({self._topics[k]}) sends {img.width}x{img.height}, "
                                 f"its model is {cam.width}x{cam.height}")
        return Frames(images=[msg_to_rgb(i) for i in images], stamp=stamp, cameras=cameras)

    def _silence(self, asked: float) -> str:
        silent = [f"{k} ({t})" for k, (t, seen) in enumerate(zip(self._topics, self._last_seen))
                  if seen < asked]
        what = (f"camera {', '.join(silent)} sent no image since the request" if silent else
                "every camera sent images, but never within the sync slop of each other")
        return (f"no synchronised set of {len(self._cameras)} cameras within "
                f"{self.timeout:.1f} s: {what}")
