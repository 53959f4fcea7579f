"""camera_capture's services: one synchronised frame set on request.

Serves ``capture_frames`` (CaptureFrames) and publishes every captured set on ``frames``
(FrameSet), stamped with the time its images were taken (not the time it was asked for).
The camera streams themselves come from the cameras' drivers (or the simulated world).
"""
from __future__ import annotations

import threading

import rospy

from seg_by_interaction.cameras.interface import CameraRig
from seg_by_interaction.msg import FrameSet
from seg_by_interaction.ros.conversions import frames_to_msg
from seg_by_interaction.srv import CaptureFrames, CaptureFramesResponse
from seg_by_interaction.types import Frames


class CaptureServer:
    def __init__(self, rig: CameraRig, robot_id: str, lock: threading.RLock | None = None):
        self.rig = rig
        self.robot_id = robot_id
        self.lock = lock or threading.RLock()
        self.frames_pub = rospy.Publisher("frames", FrameSet, queue_size=2)
        self.service = rospy.Service("capture_frames", CaptureFrames, self._handle)

    def capture(self, include_ground_truth: bool = False) -> Frames:
        with self.lock:
            return self.rig.capture(include_ground_truth=include_ground_truth)

    def to_msg(self, frames: Frames) -> FrameSet:
        msg = frames_to_msg(frames, self.robot_id)
        self.frames_pub.publish(msg)
        return msg

    def _handle(self, req) -> CaptureFramesResponse:
        try:
            frames = self.capture(bool(req.include_ground_truth))
            return CaptureFramesResponse(success=True, message="", frames=self.to_msg(frames))
        except Exception as exc:  # the node stays up; the caller learns why
            rospy.logerr("capture failed: %s", exc)
            return CaptureFramesResponse(success=False, message=f"capture failed: {exc}")
