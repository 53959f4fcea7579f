"""The paper's pick/place primitive, once, over any GripperDriver.

Approach above the pick point with the jaws closing along theta, open wide, descend,
close with a fixed force, lift, carry out of every camera's view (``on_held`` runs
there), move to the place point, lower, open, rise, go home. Whether anything was
grasped is read off the jaws, as on a real gripper. The phase names are
``robot.interface.PHASES``; preemption is honoured between the driver's calls.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Mapping, Optional

from seg_by_interaction.robot.driver import DriverError, GripperDriver
from seg_by_interaction.robot.interface import (OUTCOME_PLACED, OUTCOME_PREEMPTED,
                                                OUTCOME_ROBOT_ERROR, PHASES, PickPlaceOutcome,
                                                Robot)
from seg_by_interaction.types import Pose2D

# Feedback progress at the start of each phase.
PROGRESS = dict(zip(PHASES, (0.0, 0.15, 0.3, 0.4, 0.5, 0.6, 0.8, 0.9)))


class _Preempted(Exception):
    pass


class PickPlacePrimitive(Robot):
    """``motion``: the robot's motion settings (config robot.sim: travel_height,
    grasp_height, place_clearance, close_seconds, open_seconds, held_settle_seconds)."""

    def __init__(self, driver: GripperDriver, motion: Mapping):
        self.driver = driver
        self.m = motion

    @property
    def workspace(self) -> tuple[float, float, float, float]:
        return self.driver.workspace

    @staticmethod
    def jaw_yaw(theta: float) -> float:
        return float(theta) - math.pi / 2        # fingers move along the palm's local y axis

    def pick_place(self, pick: Pose2D, place: Pose2D,
                   on_held: Optional[Callable[[], Any]] = None,
                   feedback: Optional[Callable[[str, float], None]] = None,
                   should_stop: Optional[Callable[[], bool]] = None) -> PickPlaceOutcome:
        refused = self.check_goal(pick, place)
        if refused is not None:
            return refused
        d, m = self.driver, self.m
        travel, grasp = float(m["travel_height"]), float(m["grasp_height"])
        out = PickPlaceOutcome(OUTCOME_PLACED)
        stop = should_stop or (lambda: False)
        t0 = time.perf_counter()

        def phase(name: str) -> None:
            if stop():
                raise _Preempted(name)
            if feedback is not None:
                feedback(name, PROGRESS[name])

        def move(x, y, z, yaw=None, free=False):
            if not d.move(x, y, z, yaw, free=free, should_stop=stop):
                raise _Preempted("motion")

        low_place = max(grasp, float(m["place_clearance"]))     # nothing known held yet
        try:
            d.prepare([(pick.x, pick.y, travel, self.jaw_yaw(pick.theta), "pick hover"),
                       (pick.x, pick.y, grasp, self.jaw_yaw(pick.theta), "pick"),
                       (place.x, place.y, travel, self.jaw_yaw(place.theta), "place hover"),
                       (place.x, place.y, low_place, self.jaw_yaw(place.theta), "place")])
            phase("approach")
            d.set_jaws(True, 0.0)
            move(pick.x, pick.y, travel, self.jaw_yaw(pick.theta), free=True)
            phase("descend")
            move(pick.x, pick.y, grasp)
            phase("close")
            d.set_jaws(False, float(m["close_seconds"]))
            phase("lift")
            move(pick.x, pick.y, travel)
            if not d.go_to("held", should_stop=stop):
                raise _Preempted("motion")
            d.wait(float(m["held_settle_seconds"]))
            grip = d.grip()
            out.object_in_gripper = grip.holding
            out.extra["gripper_gap"] = grip.gap
            out.extra["held_object_id"] = grip.object_id
            out.pick_seconds = time.perf_counter() - t0
            phase("held")
            if on_held is not None:
                out.held_result = on_held()
            t1 = time.perf_counter()
            phase("place")
            move(place.x, place.y, travel, self.jaw_yaw(place.theta))
            low = max(grasp, float(m["place_clearance"]) + (grip.drop if grip.holding else 0.0))
            move(place.x, place.y, low)
            phase("release")
            d.set_jaws(True, float(m["open_seconds"]))
            phase("retreat")
            move(place.x, place.y, travel)
            out.extra["freed_stuck_object"] = d.after_release(low, travel, should_stop=stop)
            self.home()
            out.place_seconds = time.perf_counter() - t1
            if feedback is not None:
                feedback("retreat", 1.0)
        except _Preempted as exc:
            d.safe_stop(travel, float(m["open_seconds"]))
            return PickPlaceOutcome(OUTCOME_PREEMPTED, f"preempted during {exc}",
                                    object_in_gripper=False, held_result=out.held_result)
        except DriverError as exc:
            if exc.outcome in (OUTCOME_PREEMPTED, OUTCOME_ROBOT_ERROR):
                d.stop()
            return PickPlaceOutcome(exc.outcome, str(exc), held_result=out.held_result)
        return out

    def reset_sweep(self) -> None:
        self.driver.sweep()

    def home(self) -> None:
        self.driver.go_to("home")

    def stop(self) -> None:
        self.driver.stop()
