"""A real Sawyer through intera_sdk, behind the same Robot interface as the simulator.

Motion follows Rethink's ik_pick_and_place_demo: for every target, ask the IK
service (``Limb.ik_request``, which calls ExternalTools/<limb>/PositionKinematicsNode/
IKService) for joint angles and move there (``move_to_joint_positions``): hover
``hover_distance`` above, descend, close, retract. Poses are in the robot base
frame; cameras calibrated with seg_by_interaction.cameras.calibration map pixels
straight into that frame, so the planner's Pose2D needs no further transform.
intera_interface is imported only when a SawyerRobot is built without injected parts.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional

import numpy as np

from seg_by_interaction.robot.sweep import sweep_points
from seg_by_interaction.robot.interface import (OUTCOME_PLACED, OUTCOME_PREEMPTED,
                                                OUTCOME_ROBOT_ERROR, OUTCOME_UNREACHABLE, PickPlaceOutcome,
                                                Robot)
from seg_by_interaction.types import Pose2D


class _Abort(Exception):
    def __init__(self, outcome: int, message: str):
        super().__init__(message)
        self.outcome = outcome


def _quat_mul(a, b):
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)


class SawyerRobot(Robot):
    def __init__(self, cfg: dict, limb=None, gripper=None, robot_enable=None):
        self.c = cfg["robot"]["sawyer"]
        if limb is None or gripper is None or robot_enable is None:
            try:
                import intera_interface  # noqa: F401  (only on a machine with intera_sdk)
            except ImportError as exc:
                raise RuntimeError("backend 'sawyer' needs intera_sdk (intera_interface) on the "
                                   "PYTHONPATH and a running robot; use backend 'sim' otherwise") from exc
            robot_enable = robot_enable or intera_interface.RobotEnable(intera_interface.CHECK_VERSION)
            limb = limb or intera_interface.Limb(self.c["limb"])
            gripper = gripper or intera_interface.Gripper(f"{self.c['limb']}_gripper")
        from geometry_msgs.msg import Point, Pose, Quaternion   # ROS message types, not rospy
        self._Pose, self._Point, self._Quaternion = Pose, Point, Quaternion
        self.limb, self.gripper, self.rs = limb, gripper, robot_enable
        self._error = ""
        if not self.rs.state().enabled:
            self.rs.enable()
        if hasattr(self.limb, "set_joint_position_speed"):
            self.limb.set_joint_position_speed(float(self.c["joint_speed"]))

    @property
    def workspace(self) -> tuple[float, float, float, float]:
        x0, x1, y0, y1 = (float(v) for v in self.c["workspace"])
        return (x0, x1, y0, y1)

    # ------------------------------------------------------------ poses and moves
    def _pose(self, x: float, y: float, z: float, theta: float):
        yaw = float(theta) - math.pi / 2          # fingers close along the tool's y axis
        down = tuple(float(v) for v in self.c["orientation"])
        q = _quat_mul((0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)), down)
        return self._Pose(position=self._Point(x=float(x), y=float(y), z=float(z)),
                          orientation=self._Quaternion(x=q[0], y=q[1], z=q[2], w=q[3]))

    def _ik(self, pose, what: str) -> dict:
        joints = self.limb.ik_request(pose, end_point=self.c["tip_name"])
        if not joints:                              # intera returns False when no solution exists
            raise _Abort(OUTCOME_UNREACHABLE, f"no IK solution for the {what} pose "
                         f"({pose.position.x:.3f}, {pose.position.y:.3f}, {pose.position.z:.3f})")
        return joints

    def _go(self, joints: dict, stop) -> None:
        if stop():
            raise _Abort(OUTCOME_PREEMPTED, "preempted")
        state = self.rs.state()
        if getattr(state, "error", False) or getattr(state, "estop_button", 0):
            raise _Abort(OUTCOME_ROBOT_ERROR, "robot reports an error or e-stop")
        try:
            self.limb.move_to_joint_positions(joints, timeout=float(self.c["move_timeout"]), test=stop)
        except Exception as exc:  # intera raises on timeouts/collisions; report, don't crash the server
            raise _Abort(OUTCOME_ROBOT_ERROR, f"move failed: {exc}") from exc
        if stop():
            raise _Abort(OUTCOME_PREEMPTED, "preempted")

    def _table(self, above: float) -> float:
        return float(self.c["table_z"]) + above

    # ------------------------------------------------------------ the primitive
    def pick_place(self, pick: Pose2D, place: Pose2D,
                   on_held: Optional[Callable[[], Any]] = None,
                   feedback: Optional[Callable[[str, float], None]] = None,
                   should_stop: Optional[Callable[[], bool]] = None) -> PickPlaceOutcome:
        refused = self.check_goal(pick, place)
        if refused is not None:
            return refused
        stop = should_stop or (lambda: False)
        fb = feedback or (lambda phase, progress: None)
        hover = float(self.c["hover_distance"])
        grasp_z = self._table(float(self.c["grasp_z_offset"]))
        place_z = self._table(float(self.c["place_clearance"]))
        out = PickPlaceOutcome(OUTCOME_PLACED)
        t0 = time.perf_counter()
        try:
            # every IK solution first: an unreachable goal fails before the arm moves
            pick_hover = self._ik(self._pose(pick.x, pick.y, grasp_z + hover, pick.theta), "pick hover")
            pick_grasp = self._ik(self._pose(pick.x, pick.y, grasp_z, pick.theta), "pick")
            hx, hy, hz = (float(v) for v in self.c["held_pose"])
            held = self._ik(self._pose(hx, hy, hz, pick.theta), "held")
            place_hover = self._ik(self._pose(place.x, place.y, place_z + hover, place.theta), "place hover")
            place_down = self._ik(self._pose(place.x, place.y, place_z, place.theta), "place")
            fb("approach", 0.0)
            self.gripper.open(float(self.c["gripper_open"]))
            self._go(pick_hover, stop)
            fb("descend", 0.15)
            self._go(pick_grasp, stop)
            fb("close", 0.3)
            self.gripper.close(float(self.c["gripper_closed"]))
            fb("lift", 0.4)
            self._go(pick_hover, stop)
            self._go(held, stop)
            width = float(self.gripper.get_position())
            out.object_in_gripper = width > float(self.c["min_grip_width"])
            out.extra["gripper_gap"] = width
            out.pick_seconds = time.perf_counter() - t0
            fb("held", 0.5)
            if on_held is not None:
                out.held_result = on_held()
            t1 = time.perf_counter()
            fb("place", 0.6)
            self._go(place_hover, stop)
            self._go(place_down, stop)
            fb("release", 0.8)
            self.gripper.open(float(self.c["gripper_open"]))
            fb("retreat", 0.9)
            self._go(place_hover, stop)
            self.home()
            out.place_seconds = time.perf_counter() - t1
            fb("retreat", 1.0)
        except _Abort as exc:
            self._error = str(exc) if exc.outcome == OUTCOME_ROBOT_ERROR else self._error
            if exc.outcome in (OUTCOME_PREEMPTED, OUTCOME_ROBOT_ERROR):
                self.stop()
            return PickPlaceOutcome(exc.outcome, str(exc), held_result=out.held_result)
        return out

    def reset_sweep(self) -> None:
        """From 8 points on the workspace boundary, slide the closed gripper to the centre."""
        x0, x1, y0, y1 = self.workspace
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        low = self._table(float(self.c["grasp_z_offset"]))
        hover = float(self.c["hover_distance"])
        never = lambda: False   # noqa: E731
        self.gripper.close(float(self.c["gripper_closed"]))
        for sx, sy in sweep_points(self.workspace, int(self.c["sweep_points"])):
            theta = math.atan2(cy - sy, cx - sx)
            try:
                self._go(self._ik(self._pose(sx, sy, low + hover, theta), "sweep hover"), never)
                for s in np.linspace(0.0, 1.0, 5):         # straight line through IK waypoints
                    self._go(self._ik(self._pose(sx + s * (cx - sx), sy + s * (cy - sy), low, theta), "sweep"),
                             never)
                self._go(self._ik(self._pose(cx, cy, low + hover, theta), "sweep retract"), never)
            except _Abort as exc:
                self._error = str(exc)
        self.gripper.open(float(self.c["gripper_open"]))
        self.home()

    def home(self) -> None:
        names = self.limb.joint_names()
        self.limb.move_to_joint_positions(dict(zip(names, (float(v) for v in self.c["home_joints"]))),
                                          timeout=float(self.c["move_timeout"]))

    def stop(self) -> None:
        self.limb.set_joint_positions(self.limb.joint_angles())   # hold where we are

    def state(self) -> dict:
        s = self.rs.state()
        pose = self.limb.endpoint_pose()
        return {"backend": "sawyer", "enabled": bool(getattr(s, "enabled", False)),
                "error": self._error or ("robot error" if getattr(s, "error", False) else ""),
                "endpoint": list(pose["position"]) if pose else None,
                "gripper_gap": float(self.gripper.get_position())}
