"""GripperDriver over the world node's ``gripper_command`` service: the sim backend of
the pick_place_server, so the same primitive and server run in sim and on the Sawyer."""
from __future__ import annotations

from typing import Callable, Optional

import rospy

from seg_by_interaction.robot.driver import GripperDriver, GripState
from seg_by_interaction.srv import GripperCommand, GripperCommandRequest as R


class WorldGripperClient(GripperDriver):
    def __init__(self, workspace, service: str = "gripper_command", timeout: float = 60.0):
        self._workspace = tuple(float(v) for v in workspace)
        rospy.wait_for_service(service, timeout=timeout)
        self._call = rospy.ServiceProxy(service, GripperCommand, persistent=True)
        self._name = service

    @property
    def workspace(self) -> tuple[float, float, float, float]:
        return self._workspace

    def _cmd(self, command: int, **fields):
        try:
            resp = self._call(R(command=command, **fields))
        except rospy.ServiceException as exc:   # world restarting: the proxy reconnects next call
            self._call = rospy.ServiceProxy(self._name, GripperCommand, persistent=True)
            raise RuntimeError(f"{self._name}: {exc}") from exc
        if not resp.success:
            raise RuntimeError(f"{self._name}: {resp.message}")
        return resp

    def move(self, x, y, tip_z, yaw=None, free=False, should_stop=None) -> bool:
        if should_stop is not None and should_stop():
            return False
        return bool(self._cmd(R.MOVE, x=float(x), y=float(y), z=float(tip_z),
                              yaw=0.0 if yaw is None else float(yaw), set_yaw=yaw is not None,
                              free=bool(free)).done)

    def set_jaws(self, opened: bool, seconds: float) -> None:
        self._cmd(R.JAWS, open=bool(opened), seconds=float(seconds))

    def wait(self, seconds: float) -> None:
        self._cmd(R.WAIT, seconds=float(seconds))

    def grip(self) -> GripState:
        r = self._cmd(R.GRIP)
        return GripState(holding=r.holding, gap=r.gap, drop=r.drop,
                         object_id=None if r.object_id < 0 else int(r.object_id))

    def go_to(self, pose: str, should_stop: Optional[Callable[[], bool]] = None) -> bool:
        if should_stop is not None and should_stop():
            return False
        return bool(self._cmd(R.GO_TO, pose=str(pose)).done)

    def tip(self) -> tuple[float, float, float]:
        r = self._cmd(R.TIP)
        return r.x, r.y, r.z

    def stop(self) -> None:
        self._cmd(R.STOP)

    def after_release(self, low_tip_z, travel_tip_z, should_stop=None) -> bool:
        return bool(self._cmd(R.AFTER_RELEASE, z=float(low_tip_z), z_high=float(travel_tip_z)).done)
