"""Test double of intera_interface (see ../README.md): the real API's names and
conventions, a toy kinematic model and a call log."""
from __future__ import annotations

import collections
import math
from types import SimpleNamespace

from geometry_msgs.msg import Pose

CHECK_VERSION = True
IK_SERVICE = "ExternalTools/{limb}/PositionKinematicsNode/IKService"   # the real relative service name
JOINT_ANGLE_TOLERANCE = 0.008726646
LOG: list = []          # (object, method, args) of every call, for tests


class Limb:
    Point = collections.namedtuple("Point", ["x", "y", "z"])
    Quaternion = collections.namedtuple("Quaternion", ["x", "y", "z", "w"])
    reach = (0.3, 1.05)          # metres from the base axis: the toy IK's reachable shell

    def __init__(self, limb="right", synchronous_pub=False):
        self.name = limb
        self._joint_names = [f"{limb}_j{i}" for i in range(7)]
        self._joint_angle = {n: 0.0 for n in self._joint_names}
        self._solutions: dict = {}
        self._pose = {"position": self.Point(0.5, 0.0, 0.3), "orientation": self.Quaternion(0, 1, 0, 0)}
        self.ik_service = IK_SERVICE.format(limb=limb)
        self.fail_moves = False

    def joint_names(self):
        return list(self._joint_names)

    def joint_angles(self):
        return dict(self._joint_angle)

    def endpoint_pose(self):
        return dict(self._pose)

    def set_joint_position_speed(self, speed=0.3):
        LOG.append(("limb", "set_joint_position_speed", (speed,)))

    def set_joint_positions(self, positions):
        LOG.append(("limb", "set_joint_positions", (dict(positions),)))

    def ik_request(self, pose, end_point="right_hand", joint_seed=None, nullspace_goal=None,
                   nullspace_gain=0.4, allow_collision=False):
        if not isinstance(pose, Pose):      # the real one logs an error and returns False
            return False
        LOG.append(("limb", "ik_request", (pose, end_point)))
        p = pose.position
        r = math.hypot(p.x, p.y)
        if not (self.reach[0] <= r <= self.reach[1]) or p.z < -0.3 or p.z > 0.9:
            return False
        angles = [math.atan2(p.y, p.x), r - 0.6, p.z, 0.0, 0.0, 0.0, pose.orientation.z]
        sol = dict(zip(self._joint_names, angles))
        self._solutions[tuple(round(a, 9) for a in angles)] = pose
        return sol

    def move_to_joint_positions(self, positions, timeout=15.0, threshold=JOINT_ANGLE_TOLERANCE, test=None):
        LOG.append(("limb", "move_to_joint_positions", (dict(positions), timeout)))
        if set(positions) - set(self._joint_names):
            raise ValueError(f"unknown joints {set(positions) - set(self._joint_names)}")
        if self.fail_moves:
            raise OSError("Right limb failed to reach commanded joint positions")
        self._joint_angle.update(positions)
        key = tuple(round(self._joint_angle[n], 9) for n in self._joint_names)
        pose = self._solutions.get(key)
        if pose is not None:
            o = pose.orientation
            self._pose = {"position": self.Point(pose.position.x, pose.position.y, pose.position.z),
                          "orientation": self.Quaternion(o.x, o.y, o.z, o.w)}


class Gripper:
    MAX_POSITION = 0.041667
    MIN_POSITION = 0.0
    MAX_FORCE = 10.0
    MIN_FORCE = 0.0

    def __init__(self, ee_name="right_gripper", calibrate=True, limb=None):
        self.name = ee_name
        self._position = self.MAX_POSITION
        self.limb = limb                # the double's world: which limb the gripper hangs on
        self.objects: list = []          # (x, y, width) of graspable things on the table
        self.table_z = -0.14

    def _object_between_jaws(self):
        if self.limb is None:
            return None
        p = self.limb.endpoint_pose()["position"]
        for x, y, w in self.objects:
            if math.hypot(p.x - x, p.y - y) < 0.015 and p.z < self.table_z + 0.03:
                return w
        return None

    def set_position(self, position):
        LOG.append(("gripper", "set_position", (position,)))
        position = min(max(float(position), self.MIN_POSITION), self.MAX_POSITION)
        held = self._object_between_jaws()
        self._position = max(position, held) if held is not None and position < held else position

    def open(self, position=MAX_POSITION):
        LOG.append(("gripper", "open", ()))
        self._position = position

    def close(self, position=MIN_POSITION):
        LOG.append(("gripper", "close", ()))
        held = self._object_between_jaws()
        self._position = held if held is not None else position

    def get_position(self):
        return self._position


class RobotEnable:
    def __init__(self, versioned=False):
        self._enabled = False
        self.error = False

    def state(self):
        return SimpleNamespace(enabled=self._enabled, stopped=False, error=self.error, estop_button=0,
                               estop_source=0)

    def enable(self):
        LOG.append(("robot", "enable", ()))
        self._enabled = True

    def disable(self):
        self._enabled = False
