"""camera_capture: one synchronised frame set on request, and the camera streams.

Serves ``capture_frames`` (CaptureFrames), publishes every captured set on ``frames``
(FrameSet) and each camera on ``camN/image_raw`` + latched ``camN/camera_info`` so that
rosbag can record the streams and other nodes learn the camera models.
"""
from __future__ import annotations

import threading

import rospy
from sensor_msgs.msg import CameraInfo, Image

from seg_by_interaction.cameras.interface import CameraRig
from seg_by_interaction.msg import FrameSet
from seg_by_interaction.ros.conversions import camera_to_msg, frames_to_msg
from seg_by_interaction.srv import CaptureFrames, CaptureFramesResponse
from seg_by_interaction.types import Frames


class CaptureServer:
    def __init__(self, rig: CameraRig, robot_id: str, lock: threading.RLock | None = None,
                 publish_streams: bool = True):
        self.rig = rig
        self.robot_id = robot_id
        self.lock = lock or threading.RLock()
        self.frames_pub = rospy.Publisher("frames", FrameSet, queue_size=2)
        self.image_pubs, self.info_pubs = [], []
        if publish_streams:
            for k, camera in enumerate(rig.cameras):
                self.image_pubs.append(rospy.Publisher(f"cam{k}/image_raw", Image, queue_size=2))
                info_pub = rospy.Publisher(f"cam{k}/camera_info", CameraInfo, queue_size=1,
                                           latch=True)
                info_pub.publish(camera_to_msg(camera))
                self.info_pubs.append(info_pub)
        self.service = rospy.Service("capture_frames", CaptureFrames, self._handle)

    def capture(self, include_ground_truth: bool = False) -> Frames:
        with self.lock:
            return self.rig.capture(include_ground_truth=include_ground_truth)

    def to_msg(self, frames: Frames) -> FrameSet:
        msg = frames_to_msg(frames, self.robot_id, stamp=rospy.Time.now())
        self.frames_pub.publish(msg)
        for pub, img in zip(self.image_pubs, msg.images):
            if pub.get_num_connections() > 0:
                pub.publish(img)
        return msg

    def _handle(self, req) -> CaptureFramesResponse:
        try:
            frames = self.capture(bool(req.include_ground_truth))
            return CaptureFramesResponse(success=True, message="", frames=self.to_msg(frames))
        except Exception as exc:  # the node stays up; the caller learns why
            rospy.logerr("capture failed: %s", exc)
            return CaptureFramesResponse(success=False, message=f"capture failed: {exc}")
