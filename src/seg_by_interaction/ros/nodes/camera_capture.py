"""camera_capture: four cameras (camN/image_raw) -> synchronised frame sets and capture_frames.

The same node for the simulated world and for real cameras. Real: camera models from a
calibration file (~calibration, plane homographies, seg_by_interaction.cameras.calibration),
published latched on camN/camera_info (frame "arena" = the robot base plane) for the grasp
planner. Sim (~trigger set, ~calibration empty): models from the world's latched
camN/camera_info, and each capture fires the world's software trigger first.

Serves ``capture_frames`` (CaptureFrames) and publishes every captured set on ``frames``
(FrameSet), stamped with the time its images were taken (not the time it was asked for).
"""
from __future__ import annotations

import threading
from typing import Callable, Optional

from seg_by_interaction.cameras.interface import CameraRig
from seg_by_interaction.msg import FrameSet
from seg_by_interaction.ros.conversions import frames_to_msg
from seg_by_interaction.srv import CaptureFramesResponse
from seg_by_interaction.types import Frames


class CaptureNode:
    """capture_frames over any CameraRig; every set captured goes to ``publish`` too."""

    def __init__(self, rig: CameraRig, robot_id: str,
                 publish: Callable[[FrameSet], None] = lambda msg: None,
                 log_error: Callable[[str], None] = lambda text: None):
        self.rig, self.robot_id, self.publish, self.log_error = rig, robot_id, publish, log_error
        self.lock = threading.RLock()

    def capture(self, include_ground_truth: bool = False) -> FrameSet:
        with self.lock:
            frames: Frames = self.rig.capture(include_ground_truth=include_ground_truth)
        msg = frames_to_msg(frames, self.robot_id)
        self.publish(msg)
        return msg

    def handle(self, req) -> CaptureFramesResponse:
        try:
            return CaptureFramesResponse(success=True, message="",
                                         frames=self.capture(bool(req.include_ground_truth)))
        except Exception as exc:  # the node stays up; the caller learns why
            self.log_error(f"capture failed: {exc}")
            return CaptureFramesResponse(success=False, message=f"capture failed: {exc}")


def software_trigger(call) -> Callable[[], float]:
    """The rig's trigger over a TriggerCameras proxy: fires, returns the shot's stamp (s)."""
    def trigger() -> float:
        resp = call()
        if not resp.success:
            raise RuntimeError(f"camera trigger: {resp.message}")
        return resp.stamp.to_sec()
    return trigger


def main():
    import rospy
    from sensor_msgs.msg import CameraInfo

    from seg_by_interaction.cameras.calibration import load_calibration
    from seg_by_interaction.ros.conversions import camera_to_msg
    from seg_by_interaction.ros.params import node_config
    from seg_by_interaction.ros.topic_cameras import TopicCameraRig, cameras_from_info
    from seg_by_interaction.srv import CaptureFrames, TriggerCameras

    rospy.init_node("camera_capture")
    cfg = node_config()
    cc = cfg.cameras
    calibration = rospy.get_param("~calibration", "")
    trigger_name = rospy.get_param("~trigger", "")
    count = int(rospy.get_param("~num_cameras", cfg.arena.num_cameras))
    info_pubs = []
    if calibration:
        cameras = load_calibration(calibration)
        # the calibrated models, latched, for the grasp planner (in sim the world publishes them)
        for k, camera in enumerate(cameras):
            info_pubs.append(rospy.Publisher(f"cam{k}/camera_info", CameraInfo, queue_size=1,
                                             latch=True))
            info_pubs[-1].publish(camera_to_msg(camera))
    else:
        cameras = cameras_from_info(count, cc.info_timeout)
    trigger: Optional[Callable[[], float]] = None
    if trigger_name:
        rospy.wait_for_service(trigger_name, timeout=cc.info_timeout)
        trigger = software_trigger(rospy.ServiceProxy(trigger_name, TriggerCameras))
    rig = TopicCameraRig(cameras, slop=float(rospy.get_param("~slop", cc.sync_slop)),
                         timeout=float(rospy.get_param("~timeout", cc.capture_timeout)),
                         trigger=trigger, info_pattern=None if calibration else "cam{}/camera_info")
    frames_pub = rospy.Publisher("frames", FrameSet, queue_size=2)
    node = CaptureNode(rig, rospy.get_param("~robot_id", "robot0"), frames_pub.publish, rospy.logerr)
    rospy.Service("capture_frames", CaptureFrames, node.handle)
    rospy.loginfo("camera_capture ready: %d cameras%s", len(cameras),
                  f", trigger {trigger_name}" if trigger_name else "")
    rospy.spin()
