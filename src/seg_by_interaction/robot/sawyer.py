"""A real Sawyer through intera_sdk, behind the same Robot interface as the simulator.

The pick/place primitive is the shared one (``robot.primitive``) over ``SawyerDriver``.
Motion follows Rethink's ik_pick_and_place_demo: for every target, ask the IK service
(``Limb.ik_request``, which calls ExternalTools/<limb>/PositionKinematicsNode/IKService)
for joint angles and move there (``move_to_joint_positions``): hover ``hover_distance``
above, descend, close, retract; every target's IK is solved before the arm moves. Poses
are in the robot base frame; cameras calibrated with seg_by_interaction.cameras.calibration
map pixels straight into that frame, so the planner's Pose2D needs no further transform.
intera_interface is imported only when a SawyerRobot is built without injected parts.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Optional

import numpy as np

from seg_by_interaction.robot.driver import DriverError, GripperDriver, GripState
from seg_by_interaction.robot.interface import (OUTCOME_ROBOT_ERROR,
                                                OUTCOME_UNREACHABLE)
from seg_by_interaction.robot.primitive import PickPlacePrimitive
from seg_by_interaction.robot.sweep import sweep_points


def _quat_mul(a, b):
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)


def sawyer_motion(c: dict) -> dict:
    """The primitive's motion settings for the Sawyer (heights over the table)."""
    grasp = float(c.grasp_z_offset)
    return {"travel_height": grasp + float(c.hover_distance), "grasp_height": grasp,
            "place_clearance": float(c.place_clearance), "close_seconds": 0.0,
            "open_seconds": 0.0, "held_settle_seconds": 0.0}


class SawyerDriver(GripperDriver):
    """Limb + Gripper of intera_interface as a GripperDriver (heights over ``table_z``)."""

    def __init__(self, c: dict, limb, gripper, robot_enable):
        from geometry_msgs.msg import Point, Pose, Quaternion   # ROS message types, not rospy
        self._Pose, self._Point, self._Quaternion = Pose, Point, Quaternion
        self.c, self.limb, self.gripper, self.rs = c, limb, gripper, robot_enable
        self.error = ""
        self._yaw = -math.pi / 2

    @property
    def workspace(self) -> tuple[float, float, float, float]:
        x0, x1, y0, y1 = (float(v) for v in self.c.workspace)
        return (x0, x1, y0, y1)

    def _pose(self, x: float, y: float, z: float, yaw: float):
        down = tuple(float(v) for v in self.c.orientation)
        q = _quat_mul((0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)), down)
        return self._Pose(position=self._Point(x=float(x), y=float(y), z=float(z)),
                          orientation=self._Quaternion(x=q[0], y=q[1], z=q[2], w=q[3]))

    def _ik(self, pose, what: str) -> dict:
        joints = self.limb.ik_request(pose, end_point=self.c.tip_name)
        if not joints:                              # intera returns False when no solution exists
            raise DriverError(OUTCOME_UNREACHABLE, f"no IK solution for the {what} pose "
                              f"({pose.position.x:.3f}, {pose.position.y:.3f}, {pose.position.z:.3f})")
        return joints

    def _go(self, joints: dict, stop) -> bool:
        if stop():
            return False
        state = self.rs.state()
        if getattr(state, "error", False) or getattr(state, "estop_button", 0):
            raise self._failed("robot reports an error or e-stop")
        try:
            self.limb.move_to_joint_positions(joints, timeout=float(self.c.move_timeout), test=stop)
        except Exception as exc:  # intera raises on timeouts/collisions; report, don't crash the server
            raise self._failed(f"move failed: {exc}") from exc
        return not stop()

    def _failed(self, message: str) -> DriverError:
        self.error = message
        return DriverError(OUTCOME_ROBOT_ERROR, message)

    def _z(self, tip_z: float) -> float:
        return float(self.c.table_z) + float(tip_z)

    def _held_pose(self, yaw: float):
        hx, hy, hz = (float(v) for v in self.c.held_pose)
        return self._pose(hx, hy, hz, yaw)

    def prepare(self, targets) -> None:
        """Every target's IK first: an unreachable goal fails before the arm moves."""
        for k, (x, y, tip_z, yaw, what) in enumerate(targets):
            self._ik(self._pose(x, y, self._z(tip_z), yaw), what)
            if k == 1:                                  # after the pick: the held pose
                self._ik(self._held_pose(yaw), "held")

    def move(self, x, y, tip_z, yaw=None, free=False, should_stop=None) -> bool:
        if yaw is not None:
            self._yaw = float(yaw)
        pose = self._pose(x, y, self._z(tip_z), self._yaw)
        return self._go(self._ik(pose, "target"), should_stop or (lambda: False))

    def set_jaws(self, opened: bool, seconds: float) -> None:
        if opened:
            self.gripper.open(float(self.c.gripper_open))
        else:
            self.gripper.close(float(self.c.gripper_closed))

    def wait(self, seconds: float) -> None:
        time.sleep(float(seconds))

    def grip(self) -> GripState:
        width = float(self.gripper.get_position())
        return GripState(holding=width > float(self.c.min_grip_width), gap=width)

    def go_to(self, pose: str, should_stop: Optional[Callable[[], bool]] = None) -> bool:
        stop = should_stop or (lambda: False)
        if pose == "held":
            return self._go(self._ik(self._held_pose(self._yaw), "held"), stop)
        if pose == "home":
            names = self.limb.joint_names()
            self.limb.move_to_joint_positions(dict(zip(names, (float(v) for v in self.c.home_joints))),
                                              timeout=float(self.c.move_timeout))
            return True
        raise ValueError(f"unknown pose {pose!r} (home, held)")

    def tip(self) -> tuple[float, float, float]:
        p = self.limb.endpoint_pose()["position"]
        return float(p.x), float(p.y), float(p.z) - float(self.c.table_z)

    def stop(self) -> None:
        self.limb.set_joint_positions(self.limb.joint_angles())   # hold where we are

    def safe_stop(self, travel_tip_z: float, open_seconds: float) -> None:
        """A real arm that was told to stop holds where it is (the operator decides)."""
        self.stop()

    def sweep(self) -> None:
        """From 8 points on the workspace boundary, slide the closed gripper to the centre."""
        x0, x1, y0, y1 = self.workspace
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        low = self._z(float(self.c.grasp_z_offset))
        hover = float(self.c.hover_distance)
        never = lambda: False   # noqa: E731
        self.gripper.close(float(self.c.gripper_closed))
        for sx, sy in sweep_points(self.workspace, int(self.c.sweep_points)):
            yaw = math.atan2(cy - sy, cx - sx) - math.pi / 2   # jaws across the push
            try:
                self._go(self._ik(self._pose(sx, sy, low + hover, yaw), "sweep hover"), never)
                for s in np.linspace(0.0, 1.0, 5):         # straight line through IK waypoints
                    self._go(self._ik(self._pose(sx + s * (cx - sx), sy + s * (cy - sy), low, yaw), "sweep"),
                             never)
                self._go(self._ik(self._pose(cx, cy, low + hover, yaw), "sweep retract"), never)
            except DriverError as exc:
                self.error = str(exc)
        self.gripper.open(float(self.c.gripper_open))
        self.go_to("home")


class SawyerRobot(PickPlacePrimitive):
    def __init__(self, cfg: dict, limb=None, gripper=None, robot_enable=None):
        c = cfg.robot.sawyer
        if limb is None or gripper is None or robot_enable is None:
            try:
                import intera_interface  # noqa: F401  (only on a machine with intera_sdk)
            except ImportError as exc:
                raise RuntimeError("the sawyer backend needs intera_sdk (intera_interface) on the "
                                   "PYTHONPATH and a running robot; use backend sim otherwise") from exc
            robot_enable = robot_enable or intera_interface.RobotEnable(intera_interface.CHECK_VERSION)
            limb = limb or intera_interface.Limb(c.limb)
            gripper = gripper or intera_interface.Gripper(f"{c['limb']}_gripper")
        self.c, self.limb, self.gripper, self.rs = c, limb, gripper, robot_enable
        if not self.rs.state().enabled:
            self.rs.enable()
        if hasattr(self.limb, "set_joint_position_speed"):
            self.limb.set_joint_position_speed(float(c.joint_speed))
        super().__init__(SawyerDriver(c, limb, gripper, robot_enable), sawyer_motion(c))

    def state(self) -> dict:
        s = self.rs.state()
        pose = self.limb.endpoint_pose()
        return {"backend": "sawyer", "enabled": bool(getattr(s, "enabled", False)),
                "error": self.driver.error or ("robot error" if getattr(s, "error", False) else ""),
                "endpoint": list(pose["position"]) if pose else None,
                "gripper_gap": float(self.gripper.get_position())}
