"""pick_place_server: the PickPlace action, the same node for the simulated world and the Sawyer.

~backend: sim (the pick/place primitive over the world's gripper_command driver) or sawyer
(intera_sdk). Goals are validated (NaN, |theta| > 2 pi, outside the workspace), each phase
is reported as feedback, preemption is honoured between phases, the held shot I'_t+1 comes
from camera_capture's capture_frames while the arm is out of every camera's view, and the
arm stops when the node shuts down. The robot's reachable workspace goes on the parameter
`robot_workspace` (in this robot's namespace) for the coordinator and the rearrangement
server; no node falls back to the arena's. On the Sawyer this node also serves reset_arena
(the sweep; a real table has no background to change).
"""
from __future__ import annotations

import threading
from typing import Callable

from seg_by_interaction.msg import FrameSet, PickPlaceFeedback, PickPlaceResult
from seg_by_interaction.robot.interface import (OUTCOME_PLACED, OUTCOME_PREEMPTED,
                                                OUTCOME_ROBOT_ERROR, Robot)
from seg_by_interaction.srv import ResetArenaRequest, ResetArenaResponse
from seg_by_interaction.types import Pose2D


class PickPlaceNode:
    """The action's logic over any Robot. ``execute(goal, server)`` ends the goal on
    ``server`` (what actionlib's SimpleActionServer offers: publish_feedback,
    is_preempt_requested, set_succeeded/aborted/preempted)."""

    def __init__(self, robot: Robot, capture_held: Callable[[], FrameSet],
                 log_error: Callable[[str], None] = lambda text: None,
                 log_warning: Callable[[str], None] = lambda text: None):
        self.robot, self.capture_held = robot, capture_held
        self.log_error, self.log_warning = log_error, log_warning
        self.lock = threading.RLock()

    def execute(self, goal, server) -> None:
        pick = Pose2D(goal.pick.x, goal.pick.y, goal.pick.theta)
        place = Pose2D(goal.place.x, goal.place.y, goal.place.theta)
        refused = self.robot.check_goal(pick, place)
        if refused is not None:
            self.log_warning(f"pick_place rejected: {refused.message}")
            server.set_aborted(PickPlaceResult(outcome=refused.outcome, message=refused.message),
                               refused.message)
            return
        held_msgs: list[FrameSet] = []

        def on_held():
            if goal.capture_held:
                held_msgs.append(self.capture_held())

        def feedback(phase: str, progress: float):
            server.publish_feedback(PickPlaceFeedback(phase=phase, progress=progress))

        try:
            with self.lock:
                outcome = self.robot.pick_place(pick, place, on_held=on_held, feedback=feedback,
                                                should_stop=server.is_preempt_requested)
        except Exception as exc:
            self.log_error(f"pick_place failed: {exc}")
            server.set_aborted(PickPlaceResult(outcome=OUTCOME_ROBOT_ERROR, message=str(exc)), str(exc))
            return
        result = PickPlaceResult(outcome=outcome.outcome, message=outcome.message,
                                 object_in_gripper=outcome.object_in_gripper,
                                 pick_seconds=outcome.pick_seconds,
                                 place_seconds=outcome.place_seconds)
        if held_msgs:
            result.held_frames = held_msgs[0]
        if outcome.outcome == OUTCOME_PREEMPTED:
            server.set_preempted(result, outcome.message)
        elif outcome.outcome == OUTCOME_PLACED:
            server.set_succeeded(result)
        else:
            server.set_aborted(result, outcome.message)

    def reset(self, req) -> ResetArenaResponse:
        """reset_arena on a real robot: the sweep only (a real table's scene and background
        are whatever is on it)."""
        if req.new_scene or req.background != ResetArenaRequest.BACKGROUND_KEEP:
            return ResetArenaResponse(success=False, message="a real table has no scene or "
                                      "background to change; only the sweep is available")
        if not req.sweep:
            return ResetArenaResponse(success=True, message="nothing to do")
        try:
            with self.lock:
                self.robot.reset_sweep()
        except Exception as exc:  # the node stays up; the caller learns why
            self.log_error(f"reset sweep failed: {exc}")
            return ResetArenaResponse(success=False, message=f"sweep failed: {exc}")
        return ResetArenaResponse(success=True, message="sweep")

    def stop(self) -> None:
        try:
            self.robot.stop()
        except Exception as exc:  # shutting down anyway
            self.log_warning(f"stopping the robot failed: {exc}")


def make_robot(backend: str, cfg) -> Robot:
    if backend == "sim":
        from seg_by_interaction.robot.primitive import PickPlacePrimitive
        from seg_by_interaction.ros.clients import WorldGripperClient
        return PickPlacePrimitive(WorldGripperClient(cfg.arena.workspace, timeout=cfg.loop.step_timeout),
                                  cfg.robot.sim)
    if backend == "sawyer":
        from seg_by_interaction.robot.sawyer import SawyerRobot  # imports intera_interface
        return SawyerRobot(cfg)
    raise ValueError(f"~backend must be sim or sawyer, got {backend!r}")


def main():
    import actionlib
    import rospy

    from seg_by_interaction.msg import PickPlaceAction
    from seg_by_interaction.ros.params import node_config
    from seg_by_interaction.srv import CaptureFrames, ResetArena

    rospy.init_node("pick_place_server")
    cfg = node_config()
    backend = rospy.get_param("~backend", "sim")
    robot = make_robot(backend, cfg)
    rospy.set_param("robot_workspace", [float(v) for v in robot.workspace])
    rospy.wait_for_service("capture_frames", timeout=cfg.loop.step_timeout)
    capture = rospy.ServiceProxy("capture_frames", CaptureFrames)

    def capture_held() -> FrameSet:
        resp = capture(include_ground_truth=False)
        if not resp.success:
            raise RuntimeError(resp.message)
        return resp.frames

    node = PickPlaceNode(robot, capture_held, rospy.logerr, rospy.logwarn)
    server = actionlib.SimpleActionServer("pick_place", PickPlaceAction,
                                          execute_cb=lambda goal: node.execute(goal, server),
                                          auto_start=False)
    rospy.on_shutdown(node.stop)
    server.start()
    if backend != "sim":          # in sim the world serves reset_arena itself
        rospy.Service("reset_arena", ResetArena, node.reset)
    rospy.loginfo("pick_place_server ready (%s), workspace %s", backend,
                  [round(v, 3) for v in robot.workspace])
    rospy.spin()
