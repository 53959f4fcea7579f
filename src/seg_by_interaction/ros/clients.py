"""The clients of the nodes' services and actions, in one place: the loop's steps over ROS
(``RosLoopSteps``: capture_frames, segment, plan_grasp, reset_arena and the pick_place
action through ``PickPlaceClient``) and the gripper driver over the simulated world's
``gripper_command`` (``WorldGripperClient``, the sim backend of the pick_place_server).

The decisions live in ``seg_by_interaction.loop.InteractionLoop``; these only make calls.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import actionlib
import rospy
from actionlib_msgs.msg import GoalStatus
from geometry_msgs.msg import Pose2D as Pose2DMsg

from seg_by_interaction.loop.algorithm import InteractionRecord, PlannedGrasp
from seg_by_interaction.msg import (FrameSet, Grasp, Interaction, PickPlaceAction,
                                    PickPlaceGoal)
from seg_by_interaction.robot.driver import GripperDriver, GripState
from seg_by_interaction.robot.interface import (OUTCOME_PLACED, OUTCOME_ROBOT_ERROR,
                                                OUTCOME_UNKNOWN, PickPlaceOutcome)
from seg_by_interaction.ros.conversions import (camera_to_msg, frames_to_msg, hypothesis_to_msg,
                                                msg_to_frames, msg_to_hypothesis, rgb_to_msg)
from seg_by_interaction.srv import (CaptureFrames, GripperCommand, PlanGrasp, ResetArena,
                                    Segment)
from seg_by_interaction.srv import GripperCommandRequest as R
from seg_by_interaction.types import Frames, Hypothesis, Pose2D


class StepFailed(RuntimeError):
    """A service or action answered with a failure."""


# The loop's plain data, each with the message it arrived in: a record is published from
# those messages again, so no image is encoded twice and nothing is cached here.
@dataclass
class FramesFromMsg(Frames):
    msg: Any = field(default=None, repr=False, compare=False)       # FrameSet


@dataclass
class HypothesisFromMsg(Hypothesis):
    msg: Any = field(default=None, repr=False, compare=False)       # Hypothesis (msg)


@dataclass
class GraspFromMsg(PlannedGrasp):
    msg: Any = field(default=None, repr=False, compare=False)       # Grasp (msg)


def frames_from_msg(msg: FrameSet) -> FramesFromMsg:
    frames = msg_to_frames(msg)
    return FramesFromMsg(frames.images, frames.stamp, frames.cameras, frames.gt_instances, msg=msg)


# A goal's terminal states (actionlib_msgs/GoalStatus) by name, for messages.
_STATE_NAMES = {getattr(GoalStatus, n): n for n in (
    "PENDING", "ACTIVE", "PREEMPTED", "SUCCEEDED", "ABORTED", "REJECTED", "PREEMPTING",
    "RECALLING", "RECALLED", "LOST")}


def outcome_from_action(state: int, result) -> PickPlaceOutcome:
    """The PickPlaceOutcome of a finished pick_place goal. Only a goal that SUCCEEDED can
    count as placed: a recalled, rejected or lost goal carries a default result
    (outcome 0 = OUTCOME_UNKNOWN), and an aborted or preempted one never placed."""
    name = _STATE_NAMES.get(state, str(state))
    if result is None:
        return PickPlaceOutcome(OUTCOME_UNKNOWN, f"pick_place ended {name} without a result")
    held = frames_from_msg(result.held_frames) if result.held_frames.images else None
    outcome = int(result.outcome)
    message = result.message
    if state != GoalStatus.SUCCEEDED:
        if outcome == OUTCOME_PLACED:   # a server must not claim success for a failed goal
            outcome = OUTCOME_UNKNOWN
        message = f"pick_place goal {name}" + (f": {message}" if message else "")
    elif outcome != OUTCOME_PLACED:
        message = (f"pick_place SUCCEEDED with outcome {outcome}, not OUTCOME_PLACED"
                   + (f": {message}" if message else ""))
    return PickPlaceOutcome(outcome=outcome, message=message,
                            object_in_gripper=bool(result.object_in_gripper), held_result=held,
                            pick_seconds=result.pick_seconds, place_seconds=result.place_seconds)


class PickPlaceClient:
    """The pick_place action as one blocking call; the goal's terminal state decides.

    Not SimpleActionClient: it compares each transition's goal handle with the one it
    stores after send_goal returns, and a fast server's first transition can arrive
    before that ("Got a transition callback on a goal handle that we're not tracking")
    and is lost. Here each goal's callback is its own closure, so nothing is matched."""

    def __init__(self, name: str, timeout: float):
        self.timeout = float(timeout)
        self._action = actionlib.ActionClient(name, PickPlaceAction)
        if not self._action.wait_for_server(rospy.Duration(self.timeout)):
            raise StepFailed(f"{name} action server did not come up")

    def __call__(self, pick: Pose2D, place: Pose2D) -> PickPlaceOutcome:
        goal = PickPlaceGoal(pick=Pose2DMsg(pick.x, pick.y, pick.theta),
                             place=Pose2DMsg(place.x, place.y, place.theta), capture_held=True)
        done = threading.Event()

        def on_transition(gh):
            if gh.get_comm_state() == actionlib.CommState.DONE:
                done.set()

        gh = self._action.send_goal(goal, transition_cb=on_transition)
        deadline = time.monotonic() + self.timeout
        while not done.wait(0.2):             # in slices: a shutdown is not kept waiting
            if rospy.is_shutdown() or time.monotonic() > deadline:
                gh.cancel()
                if not rospy.is_shutdown():
                    done.wait(min(self.timeout, 10.0))   # let the server stop the arm and answer
                why = "shutting down" if rospy.is_shutdown() else "timed out"
                return PickPlaceOutcome(OUTCOME_ROBOT_ERROR, f"pick_place {why}")
        return outcome_from_action(gh.get_goal_status(), gh.get_result())


class RosLoopSteps:
    """LoopSteps over ROS: capture/segment/plan_grasp services, the pick_place action."""

    def __init__(self, robot_id: str, timeout: float, max_hypotheses: int, min_score: float):
        self.robot_id = robot_id
        self.timeout = float(timeout)
        self.max_hypotheses = int(max_hypotheses)
        self.min_score = float(min_score)
        for name in ("capture_frames", "segment", "plan_grasp", "reset_arena"):
            rospy.wait_for_service(name, timeout=self.timeout)
        self._capture = rospy.ServiceProxy("capture_frames", CaptureFrames, persistent=False)
        self._segment = rospy.ServiceProxy("segment", Segment)
        self._plan = rospy.ServiceProxy("plan_grasp", PlanGrasp)
        self._reset = rospy.ServiceProxy("reset_arena", ResetArena)
        self._pick_place = PickPlaceClient("pick_place", self.timeout)

    def capture(self) -> Frames:
        resp = self._capture(include_ground_truth=False)
        if not resp.success:
            raise StepFailed(f"capture_frames: {resp.message}")
        return frames_from_msg(resp.frames)

    def segment(self, frames: Frames, camera: int):
        image_msg = rgb_to_msg(frames.images[camera])
        resp = self._segment(image=image_msg, camera=-1, max_hypotheses=self.max_hypotheses,
                             min_score=self.min_score)
        if not resp.success:
            raise StepFailed(f"segment: {resp.message}")
        hyps = []
        for msg in resp.hypotheses.hypotheses:
            msg.camera = camera
            hyp = msg_to_hypothesis(msg)
            hyps.append(HypothesisFromMsg(hyp.mask, hyp.score, hyp.box, msg=msg))
        return hyps, int(resp.hypotheses.model_version)

    def plan_grasp(self, hypothesis: Hypothesis, frames: Frames, camera: int) -> PlannedGrasp:
        msg = hypothesis.msg if isinstance(hypothesis, HypothesisFromMsg) else \
            hypothesis_to_msg(hypothesis, 0, camera=camera)
        info = (frames.msg.camera_info[camera] if isinstance(frames, FramesFromMsg)
                else camera_to_msg(frames.cameras[camera]))
        resp = self._plan(hypothesis=msg, camera_info=info)
        if not resp.success:
            raise ValueError(resp.message)
        g = resp.grasp
        return GraspFromMsg(u=g.u, v=g.v, angle=g.angle, width_px=g.width_px,
                            pose=Pose2D(g.x, g.y, g.theta), width_m=g.width, msg=g)

    def pick_place(self, pick: Pose2D, place: Pose2D) -> PickPlaceOutcome:
        return self._pick_place(pick, place)

    def reset(self, sweep: bool, new_background: bool) -> None:
        resp = self._reset(sweep=sweep, new_scene=False,
                           background=-2 if new_background else -1)
        if not resp.success:
            rospy.logwarn("reset_arena: %s", resp.message)

    def record_to_msg(self, record: InteractionRecord) -> Interaction:
        """The Interaction message of a record, from the messages its parts came in."""
        msg = Interaction(robot_id=self.robot_id, interaction_id=record.interaction_id,
                          model_version=record.model_version, outcome=record.outcome.outcome,
                          object_in_gripper=record.outcome.object_in_gripper)
        msg.header.stamp = rospy.Time.now()
        msg.before = _wire(record.before, self.robot_id)
        msg.after = _wire(record.after, self.robot_id)
        if record.outcome.held_result is not None:
            msg.held = _wire(record.outcome.held_result, self.robot_id)
        if isinstance(record.hypothesis, HypothesisFromMsg):
            msg.hypothesis = record.hypothesis.msg
        elif record.hypothesis is not None:
            # an explored proposal (not the segmenter's) has index -1; ids are unsigned
            msg.hypothesis = hypothesis_to_msg(record.hypothesis, max(record.hypothesis_index, 0),
                                               camera=record.camera)
        if isinstance(record.grasp, GraspFromMsg):
            msg.grasp = record.grasp.msg
        else:  # exploration pick: no hypothesis, the arena pose alone
            msg.grasp = Grasp(camera=record.camera, x=record.pick.x, y=record.pick.y,
                              theta=record.pick.theta)
            msg.hypothesis.camera = record.camera
        msg.place = Pose2DMsg(record.place.x, record.place.y, record.place.theta)
        return msg


def _wire(frames: Frames, robot_id: str) -> FrameSet:
    return frames.msg if isinstance(frames, FramesFromMsg) else frames_to_msg(frames, robot_id)


class WorldGripperClient(GripperDriver):
    """GripperDriver over the world node's ``gripper_command`` service: the sim backend of
    the pick_place_server, so the same primitive and server run in sim and on the Sawyer."""
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
