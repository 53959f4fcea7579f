"""pick_place_server: the PickPlace action over any Robot backend.

Validates goals (NaN, outside the workspace), reports each phase as feedback, honours
preemption between phases, takes the held shot I'_t+1 through ``capture`` while the
arm is out of every camera's view, and stops the arm when the node shuts down.
"""
from __future__ import annotations

import threading
from typing import Callable

import actionlib
import rospy

from seg_by_interaction.msg import (FrameSet, PickPlaceAction, PickPlaceFeedback,
                                    PickPlaceResult)
from seg_by_interaction.robot.interface import (OUTCOME_PLACED, OUTCOME_PREEMPTED,
                                                OUTCOME_ROBOT_ERROR, Robot)
from seg_by_interaction.types import Pose2D


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
        refused = self.robot.check_goal(pick, place)
        if refused is not None:
            rospy.logwarn("pick_place rejected: %s", refused.message)
            self.server.set_aborted(PickPlaceResult(outcome=refused.outcome,
                                                    message=refused.message), refused.message)
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



class RobotResetServer:
    """reset_arena on a real robot: the sweep only (a real table's scene and background
    are whatever is on it)."""

    def __init__(self, robot: Robot, lock: threading.RLock | None = None):
        from seg_by_interaction.srv import ResetArena
        self.robot, self.lock = robot, lock or threading.RLock()
        self.service = rospy.Service("reset_arena", ResetArena, self._handle)

    def _handle(self, req):
        from seg_by_interaction.srv import ResetArenaRequest, ResetArenaResponse
        if req.new_scene or req.background != ResetArenaRequest.BACKGROUND_KEEP:
            return ResetArenaResponse(success=False, message="a real table has no scene or "
                                      "background to change; only the sweep is available")
        if not req.sweep:
            return ResetArenaResponse(success=True, message="nothing to do")
        try:
            with self.lock:
                self.robot.reset_sweep()
        except Exception as exc:  # the node stays up; the caller learns why
            rospy.logerr("reset sweep failed: %s", exc)
            return ResetArenaResponse(success=False, message=f"sweep failed: {exc}")
        return ResetArenaResponse(success=True, message="sweep")
