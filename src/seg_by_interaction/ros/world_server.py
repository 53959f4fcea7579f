"""The simulated world's ROS face: triggered cameras and the gripper driver.

Like a Gazebo world: it publishes what sensors would (``camN/image_raw`` and, latched,
``camN/camera_info`` stamped like the shot: the cameras move with a new scene when
arena.cameras.vary is on) when its software trigger fires, and takes low-level commands
(``gripper_command``) from the same pick_place_server that drives a real arm. Ground
truth goes only to ``debug/camN/instances`` (mono16, arena ids), which nothing in the
learning path subscribes to.
"""
from __future__ import annotations

import math
import threading

import rospy
from sensor_msgs.msg import CameraInfo, Image

from seg_by_interaction.cameras.interface import CameraRig
from seg_by_interaction.robot.driver import GripperDriver
from seg_by_interaction.ros.conversions import camera_to_msg, instances_to_msg, rgb_to_msg
from seg_by_interaction.srv import (GripperCommand, GripperCommandRequest, GripperCommandResponse,
                                    TriggerCameras, TriggerCamerasResponse)


# what a caller is told when a request arrives while the node closes (not the request's fault)
SHUTTING_DOWN = "the simulated world is shutting down"


class TriggeredCameras:
    """``trigger_cameras`` renders every camera once and publishes the images with one stamp."""

    def __init__(self, rig: CameraRig, lock: threading.RLock, frame_id: str = "arena"):
        self.rig, self.lock = rig, lock
        self.image_pubs, self.info_pubs, self.gt_pubs = [], [], []
        for k, camera in enumerate(rig.cameras):
            self.image_pubs.append(rospy.Publisher(f"cam{k}/image_raw", Image, queue_size=2))
            info = rospy.Publisher(f"cam{k}/camera_info", CameraInfo, queue_size=1, latch=True)
            info.publish(camera_to_msg(camera))
            self.info_pubs.append(info)
            self.gt_pubs.append(rospy.Publisher(f"debug/cam{k}/instances", Image, queue_size=2))
        self.frame_id = frame_id
        self.shots = 0
        self.service = rospy.Service("trigger_cameras", TriggerCameras, self._handle)

    def _handle(self, _req) -> TriggerCamerasResponse:
        try:
            stamp = self.fire()
        except Exception as exc:  # the node stays up; the caller learns why
            if rospy.is_shutdown():
                return TriggerCamerasResponse(success=False,
                                              message=SHUTTING_DOWN)
            rospy.logerr("camera trigger failed: %s", exc)
            return TriggerCamerasResponse(success=False, message=f"render failed: {exc}")
        return TriggerCamerasResponse(success=True, message=f"shot {self.shots}", stamp=stamp)

    def fire(self) -> rospy.Time:
        want_gt = any(p.get_num_connections() > 0 for p in self.gt_pubs)
        with self.lock:
            frames = self.rig.capture(include_ground_truth=want_gt)
            stamp = rospy.Time.now()          # the world's clock at the shot
        self.shots += 1
        # each shot's camera models first, with its stamp (as camera drivers send camera_info
        # beside every image): the cameras may have moved since the last shot (a new scene)
        for pub, camera in zip(self.info_pubs, frames.cameras):
            info = camera_to_msg(camera)
            info.header.stamp = stamp
            pub.publish(info)
        for k, (pub, img) in enumerate(zip(self.image_pubs, frames.images)):
            msg = rgb_to_msg(img)
            msg.header.stamp, msg.header.frame_id = stamp, f"cam{k}"
            msg.header.seq = self.shots
            pub.publish(msg)
        if want_gt and frames.gt_instances:
            for pub, inst in zip(self.gt_pubs, frames.gt_instances):
                gt = instances_to_msg(inst)
                gt.header.stamp = stamp
                pub.publish(gt)
        return stamp


class GripperCommandServer:
    """``gripper_command`` over a GripperDriver; every command is validated first."""

    def __init__(self, driver: GripperDriver, lock: threading.RLock, reach: float,
                 max_tip_height: float, max_seconds: float):
        """``reach``: |x|, |y| limit of targets (half the table); a command beyond the
        limits is refused, never run (a move to x = 100 m would run for minutes)."""
        self.driver, self.lock = driver, lock
        self.reach, self.max_tip_height = float(reach), float(max_tip_height)
        self.max_seconds = float(max_seconds)
        self.service = rospy.Service("gripper_command", GripperCommand, self._handle)

    def _handle(self, req) -> GripperCommandResponse:
        try:
            with self.lock:
                return self._run(req)
        except (ValueError, TypeError) as exc:
            return GripperCommandResponse(success=False, message=str(exc), object_id=-1)
        except Exception as exc:  # the world stays up; the backend reports a robot error
            if rospy.is_shutdown():   # the world has closed; not a fault of the command
                return GripperCommandResponse(success=False, object_id=-1,
                                              message=SHUTTING_DOWN)
            rospy.logerr("gripper_command %d failed: %s", req.command, exc)
            return GripperCommandResponse(success=False, message=f"{type(exc).__name__}: {exc}",
                                          object_id=-1)

    def _run(self, req) -> GripperCommandResponse:
        d, R = self.driver, GripperCommandRequest
        values = (req.x, req.y, req.z, req.z_high, req.yaw, req.seconds)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"non-finite value in command {req.command}: {values}")
        if not 0.0 <= req.seconds <= self.max_seconds:
            raise ValueError(f"seconds must be in [0, {self.max_seconds}], got {req.seconds}")
        if req.command in (R.MOVE, R.AFTER_RELEASE):
            if max(abs(req.x), abs(req.y)) > self.reach:
                raise ValueError(f"target ({req.x}, {req.y}) is off the table (|x|, |y| <= {self.reach} m)")
            for z in ((req.z,) if req.command == R.MOVE else (req.z, req.z_high)):
                if not 0.0 <= z <= self.max_tip_height:
                    raise ValueError(f"tip height {z} m is outside [0, {self.max_tip_height}] m")
        out = GripperCommandResponse(success=True, object_id=-1)
        if req.command == R.MOVE:
            out.done = d.move(req.x, req.y, req.z, req.yaw if req.set_yaw else None, free=req.free)
        elif req.command == R.JAWS:
            d.set_jaws(bool(req.open), req.seconds)
        elif req.command == R.WAIT:
            d.wait(req.seconds)
        elif req.command == R.GRIP:
            g = d.grip()
            out.holding, out.gap, out.drop = g.holding, g.gap, g.drop
            out.object_id = -1 if g.object_id is None else int(g.object_id)
        elif req.command == R.GO_TO:
            out.done = d.go_to(req.pose)
        elif req.command == R.STOP:
            d.stop()
        elif req.command == R.AFTER_RELEASE:
            out.done = d.after_release(req.z, req.z_high)
        elif req.command != R.TIP:
            raise ValueError(f"unknown gripper command {req.command}")
        out.x, out.y, out.z = d.tip()
        return out
