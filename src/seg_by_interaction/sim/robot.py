"""The paper's pick/place primitive on the simulated arena's floating gripper.

Approach above (x, y) with the jaws closing along theta, open wide, descend,
close with a fixed force, lift, carry out of every camera's view (``on_held``
runs there), move to the place point, lower, open, retreat home. Whether
anything was grasped is read off the jaws, as on a real gripper.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional


from seg_by_interaction.robot.interface import (OUTCOME_PLACED, OUTCOME_PREEMPTED,
                                                PickPlaceOutcome, Robot)
from seg_by_interaction.robot.sweep import sweep_points
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.types import Pose2D


class _Preempted(Exception):
    pass


class SimRobot(Robot):
    def __init__(self, arena: Arena):
        self.arena = arena
        self.r = arena.cfg["robot"]["sim"]
        self._last_error = ""

    @property
    def workspace(self) -> tuple[float, float, float, float]:
        return self.arena.workspace

    def _jaw_yaw(self, theta: float) -> float:
        return float(theta) - math.pi / 2        # fingers move along the palm's local y axis

    def pick_place(self, pick: Pose2D, place: Pose2D,
                   on_held: Optional[Callable[[], Any]] = None,
                   feedback: Optional[Callable[[str, float], None]] = None,
                   should_stop: Optional[Callable[[], bool]] = None) -> PickPlaceOutcome:
        refused = self.check_goal(pick, place)
        if refused is not None:
            return refused
        a, g = self.arena, self.arena.gripper
        travel = g.palm_z_for_tip(float(self.r["travel_height"]))
        out = PickPlaceOutcome(OUTCOME_PLACED)
        stop = should_stop or (lambda: False)
        t0 = time.perf_counter()

        def phase(name: str, progress: float) -> None:
            if stop():
                raise _Preempted(name)
            if feedback is not None:
                feedback(name, progress)

        try:
            phase("approach", 0.0)
            g.set_gap(g.jaw_open)
            self._move([pick.x, pick.y, travel], self._jaw_yaw(pick.theta), stop, free=True)
            phase("descend", 0.15)
            self._move([pick.x, pick.y, g.palm_z_for_tip(float(self.r["grasp_height"]))], None, stop)
            phase("close", 0.3)
            a.set_jaws(0.0, float(self.r["close_seconds"]))
            phase("lift", 0.4)
            self._move([pick.x, pick.y, travel], None, stop)
            held_pos = [float(v) for v in self.r["held_position"]]
            self._move(held_pos, None, stop)
            a.step(int(float(self.r["held_settle_seconds"]) / a.dt))
            held = self._holding()
            out.object_in_gripper = held is not None
            out.extra["gripper_gap"] = g.gap()
            out.extra["held_object_id"] = held
            out.pick_seconds = time.perf_counter() - t0
            phase("held", 0.5)
            if on_held is not None:
                out.held_result = on_held()
            t1 = time.perf_counter()
            drop = self._tip_to_object_bottom(held)
            phase("place", 0.6)
            self._move([place.x, place.y, travel], self._jaw_yaw(place.theta), stop)
            tip = max(float(self.r["grasp_height"]), float(self.r["place_clearance"]) + drop)
            self._move([place.x, place.y, g.palm_z_for_tip(tip)], None, stop)
            phase("release", 0.8)
            a.set_jaws(g.jaw_open, float(self.r["open_seconds"]))
            phase("retreat", 0.9)
            self._move([place.x, place.y, travel], None, stop)
            out.extra["freed_stuck_object"] = self._free_stuck_object(g.palm_z_for_tip(tip), travel, stop)
            self.home()
            out.place_seconds = time.perf_counter() - t1
            if feedback is not None:
                feedback("retreat", 1.0)
        except _Preempted as exc:
            self._safe_stop()
            return PickPlaceOutcome(OUTCOME_PREEMPTED, f"preempted during {exc}",
                                    object_in_gripper=False, held_result=out.held_result)
        return out

    def _move(self, pos, yaw, stop, free: bool = False) -> None:
        """``free``: nothing held, above the objects: the faster free-space speed."""
        speed = float(self.r["free_speed"]) if free else None
        if not self.arena.move_gripper(pos, yaw, should_stop=stop, speed=speed):
            raise _Preempted("motion")

    def _holding(self) -> Optional[int]:
        """Arena id of the object squeezed between the jaws, or None (jaws shut on nothing)."""
        g = self.arena.gripper
        if g.gap() < float(self.r["min_grip_width"]):
            return None
        for body in g.touching():
            k = self.arena.object_id_of_body(body)
            if k is not None:
                return k
        return None

    def _free_stuck_object(self, low_z: float, travel_z: float, stop) -> bool:
        """The jaws opened, yet an object rose with the arm: its collision hulls locked
        with the fingers (hollow models: a cap, a helmet; the solver holds both, the jaws
        can neither open nor close). A real object would drop; the simulation is made to
        let it: set it down again, stop the gripper colliding with it while the arm rises
        clear, then restore the contacts. True if that was needed (~4 % of releases of
        hollow models, measured over the library)."""
        import pybullet as p
        a, g = self.arena, self.arena.gripper
        stuck = self._stuck_object()
        if stuck is None:
            return False
        body = a.object_body(stuck)
        links = [-1] + list(range(p.getNumJoints(g.body, physicsClientId=a.cid)))
        self._move([*g.position[:2], low_z], None, stop)
        for link in links:
            p.setCollisionFilterPair(g.body, body, link, -1, 0, physicsClientId=a.cid)
        try:
            self._move([*g.position[:2], travel_z], None, stop)
        finally:
            for link in links:
                p.setCollisionFilterPair(g.body, body, link, -1, 1, physicsClientId=a.cid)
        return True

    def _stuck_object(self) -> Optional[int]:
        """Arena id of an object touching the gripper clear of the table, or None."""
        import pybullet as p
        a, g = self.arena, self.arena.gripper
        for pt in p.getContactPoints(bodyA=g.body, physicsClientId=a.cid):
            k = a.object_id_of_body(pt[2])
            if k is not None and a.object_aabb(k)[0][2] > float(self.r["place_clearance"]):
                return k
        return None

    def _tip_to_object_bottom(self, held: Optional[int]) -> float:
        if held is None:
            return 0.0
        lo, _ = self.arena.object_aabb(held)
        return max(0.0, self.arena.gripper.tip_z() - float(lo[2]))

    def _safe_stop(self) -> None:
        """Preempted: open the jaws where we are, rise and go home."""
        a, g = self.arena, self.arena.gripper
        a.set_jaws(g.jaw_open, float(self.r["open_seconds"]))
        pos = g.position.copy()
        pos[2] = max(pos[2], g.palm_z_for_tip(float(self.r["travel_height"])))
        a.move_gripper(pos)
        self.home()

    def reset_sweep(self) -> None:
        """Sweep from each of 8 boundary points to the centre (the paper's reset)."""
        x0, x1, y0, y1 = self.workspace
        centre = ((x0 + x1) / 2, (y0 + y1) / 2)
        for pt in sweep_points(self.workspace, int(self.r["sweep_points"])):
            self.arena.push(pt, centre)
        self.home()
        self.arena.settle(0.3)

    def home(self) -> None:
        g = self.arena.gripper
        self.arena.move_gripper([float(v) for v in self.r["home_position"]], g.yaw,
                                speed=float(self.r["free_speed"]))

    def stop(self) -> None:
        g = self.arena.gripper
        g.set_pose(g.position, g.yaw)

    def state(self) -> dict:
        g = self.arena.gripper
        return {"backend": "sim", "gripper_position": g.position.tolist(), "gripper_yaw": g.yaw,
                "gripper_gap": g.gap(), "sim_time": self.arena.time, "error": self._last_error}
