"""pick_place_server: the PickPlace action over any Robot backend.

Validates goals (NaN, outside the workspace), reports each phase as feedback, honours
preemption between phases, takes the held shot I'_t+1 through ``capture`` while the
arm is out of every camera's view, and stops the arm when the node shuts down.
"""
from __future__ import annotations

import math
import threading
from typing import Callable, Optional

import actionlib
import rospy

from seg_by_interaction.msg import (FrameSet, PickPlaceAction, PickPlaceFeedback,
                                    PickPlaceResult)
from seg_by_interaction.robot.interface import (OUTCOME_INVALID_GOAL, OUTCOME_PLACED,
                                                OUTCOME_PREEMPTED, OUTCOME_ROBOT_ERROR,
                                                OUTCOME_UNREACHABLE, Robot)
from seg_by_interaction.types import Pose2D


def validate_goal(robot: Robot, pick: Pose2D, place: Pose2D) -> Optional[tuple[int, str]]:
    """(outcome, message) when a goal cannot be executed, else None."""
    for name, pose in (("pick", pick), ("place", place)):
        if not all(math.isfinite(v) for v in (pose.x, pose.y, pose.theta)):
            return OUTCOME_INVALID_GOAL, f"{name} pose has a non-finite value"
    for name, pose in (("pick", pick), ("place", place)):
        if not robot.in_workspace(pose):
            return (OUTCOME_UNREACHABLE,
                    f"{name} ({pose.x:.3f}, {pose.y:.3f}) is outside the workspace "
                    f"{tuple(round(v, 3) for v in robot.workspace)}")
    return None


class PickPlaceServer:
    def __init__(self, robot: Robot, capture_held: Callable[[], FrameSet],
                 lock: threading.RLock | None = None, name: str = "pick_place"):
        self.robot = robot
        self.capture_held = capture_held
        self.lock = lock or threading.RLock()
        self.server = actionlib.SimpleActionServer(name, PickPlaceAction,
                                                   execute_cb=self._execute, auto_start=False)
        rospy.on_shutdown(self._shutdown)
        self.server.start()

    def _shutdown(self):
        try:
            self.robot.stop()
        except Exception as exc:  # shutting down anyway
            rospy.logwarn("stopping the robot failed: %s", exc)

    def _execute(self, goal):
        pick = Pose2D(goal.pick.x, goal.pick.y, goal.pick.theta)
        place = Pose2D(goal.place.x, goal.place.y, goal.place.theta)
        problem = validate_goal(self.robot, pick, place)
        if problem is not None:
            outcome, message = problem
            rospy.logwarn("pick_place rejected: %s", message)
            self.server.set_aborted(PickPlaceResult(outcome=outcome, message=message), message)
            return
        held_msgs: list[FrameSet] = []

        def on_held():
            if goal.capture_held:
                held_msgs.append(self.capture_held())
            return None

        def feedback(phase: str, progress: float):
            self.server.publish_feedback(PickPlaceFeedback(phase=phase, progress=progress))

        try:
            with self.lock:
                outcome = self.robot.pick_place(pick, place, on_held=on_held, feedback=feedback,
                                                should_stop=self.server.is_preempt_requested)
        except Exception as exc:
            rospy.logerr("pick_place failed: %s", exc)
            result = PickPlaceResult(outcome=OUTCOME_ROBOT_ERROR, message=str(exc))
            self.server.set_aborted(result, str(exc))
            return
        result = PickPlaceResult(outcome=outcome.outcome, message=outcome.message,
                                 object_in_gripper=outcome.object_in_gripper,
                                 pick_seconds=outcome.pick_seconds,
                                 place_seconds=outcome.place_seconds)
        if held_msgs:
            result.held_frames = held_msgs[0]
        if outcome.outcome == OUTCOME_PREEMPTED:
            self.server.set_preempted(result, outcome.message)
        elif outcome.outcome == OUTCOME_PLACED:
            self.server.set_succeeded(result)
        else:
            self.server.set_aborted(result, outcome.message)

