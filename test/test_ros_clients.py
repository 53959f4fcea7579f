"""The coordinator's pick_place client: only a SUCCEEDED goal counts as placed.

A goal replaced while pending is RECALLED and carries a default result; with outcome 0
meaning "placed" the coordinator once counted an interaction that never happened."""
from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.ros


def test_outcome_constants_match_the_action_and_zero_is_unknown():
    from seg_by_interaction.msg import PickPlaceResult
    from seg_by_interaction.robot import interface
    names = [n for n in dir(PickPlaceResult) if n.startswith("OUTCOME_")]
    assert sorted(names) == sorted(n for n in dir(interface) if n.startswith("OUTCOME_"))
    for name in names:
        assert getattr(PickPlaceResult, name) == getattr(interface, name), name
    assert PickPlaceResult().outcome == interface.OUTCOME_UNKNOWN == 0
    assert interface.OUTCOME_PLACED != 0


def test_outcome_from_action_trusts_only_succeeded():
    from actionlib import GoalStatus
    from seg_by_interaction.msg import PickPlaceResult
    from seg_by_interaction.robot.interface import (OUTCOME_PLACED, OUTCOME_PREEMPTED,
                                                    OUTCOME_UNKNOWN)
    from seg_by_interaction.ros.clients import outcome_from_action
    placed = PickPlaceResult(outcome=OUTCOME_PLACED, object_in_gripper=True)
    assert outcome_from_action(GoalStatus.SUCCEEDED, placed).outcome == OUTCOME_PLACED
    for state in (GoalStatus.RECALLED, GoalStatus.REJECTED, GoalStatus.LOST):
        out = outcome_from_action(state, PickPlaceResult())
        assert out.outcome == OUTCOME_UNKNOWN and "goal" in out.message
    # a server that wrongly reports PLACED for a goal it aborted is not believed
    assert outcome_from_action(GoalStatus.ABORTED, placed).outcome != OUTCOME_PLACED
    out = outcome_from_action(GoalStatus.PREEMPTED, PickPlaceResult(outcome=OUTCOME_PREEMPTED))
    assert out.outcome == OUTCOME_PREEMPTED and "PREEMPTED" in out.message
    # SUCCEEDED with a default (unset) result is not a placement either
    assert outcome_from_action(GoalStatus.SUCCEEDED, PickPlaceResult()).outcome == OUTCOME_UNKNOWN
    assert outcome_from_action(GoalStatus.LOST, None).outcome == OUTCOME_UNKNOWN


def test_recalled_goal_is_not_counted_as_placed(ros_node):
    """The real sequence: the server is busy, the client's goal waits (pending), another
    goal replaces it: SimpleActionServer recalls it with a default result."""
    import actionlib
    import rospy
    from geometry_msgs.msg import Pose2D as Pose2DMsg
    from seg_by_interaction.msg import PickPlaceAction, PickPlaceGoal, PickPlaceResult
    from seg_by_interaction.robot.interface import OUTCOME_PLACED
    from seg_by_interaction.ros.clients import PickPlaceClient
    from support.ros_testing import wait_until
    from seg_by_interaction.types import Pose2D
    busy, release = threading.Event(), threading.Event()

    def execute(goal):
        busy.set()
        release.wait(30)
        server.set_succeeded(PickPlaceResult(outcome=OUTCOME_PLACED, object_in_gripper=True))

    name = "/recall_test/pick_place"
    server = actionlib.SimpleActionServer(name, PickPlaceAction, execute_cb=execute,
                                          auto_start=False)
    server.start()
    other = actionlib.SimpleActionClient(name, PickPlaceAction)
    assert other.wait_for_server(rospy.Duration(20))
    try:
        other.send_goal(PickPlaceGoal(pick=Pose2DMsg(0.1, 0, 0)))        # occupies the server
        wait_until(busy.is_set, 20, "the first goal to run")
        client = PickPlaceClient(name, timeout=30)
        got = {}
        worker = threading.Thread(target=lambda: got.update(
            out=client(Pose2D(0.0, 0.0), Pose2D(0.05, 0.05))), daemon=True)
        worker.start()
        wait_until(lambda: server.new_goal, 20, "the client's goal to be pending")
        third = actionlib.SimpleActionClient(name, PickPlaceAction)
        assert third.wait_for_server(rospy.Duration(20))
        third.send_goal(PickPlaceGoal(pick=Pose2DMsg(0.2, 0, 0)))        # replaces it
        worker.join(30)
        assert "out" in got, "the recalled goal never finished"
        out = got["out"]
        assert out.outcome != OUTCOME_PLACED
        assert "RECALLED" in out.message
        assert out.held_result is None
    finally:
        release.set()   # the busy goal, then the one that replaced ours, finish


def test_succeeded_goal_is_placed(ros_node):
    import actionlib
    from seg_by_interaction.msg import PickPlaceAction, PickPlaceResult
    from seg_by_interaction.robot.interface import OUTCOME_PLACED
    from seg_by_interaction.ros.clients import PickPlaceClient
    from seg_by_interaction.types import Pose2D

    def execute(goal):
        server.set_succeeded(PickPlaceResult(outcome=OUTCOME_PLACED, message="ok",
                                             object_in_gripper=True, pick_seconds=1.25))

    name = "/succeed_test/pick_place"
    server = actionlib.SimpleActionServer(name, PickPlaceAction, execute_cb=execute,
                                          auto_start=False)
    server.start()
    out = PickPlaceClient(name, timeout=20)(Pose2D(0.0, 0.0), Pose2D(0.05, 0.05))
    assert out.outcome == OUTCOME_PLACED and out.object_in_gripper
    assert out.pick_seconds == pytest.approx(1.25)


def test_fast_server_goals_are_all_tracked(ros_node):
    """A server that answers at once, goal after goal: every goal's outcome arrives and no
    transition is dropped as "a goal handle that we're not tracking" (SimpleActionClient
    logged that 35 times in a 500-interaction main job)."""
    import logging

    import actionlib
    from seg_by_interaction.msg import PickPlaceAction, PickPlaceResult
    from seg_by_interaction.robot.interface import OUTCOME_PLACED
    from seg_by_interaction.ros.clients import PickPlaceClient
    from seg_by_interaction.types import Pose2D

    def execute(goal):
        server.set_succeeded(PickPlaceResult(outcome=OUTCOME_PLACED))

    name = "/fast_test/pick_place"
    server = actionlib.SimpleActionServer(name, PickPlaceAction, execute_cb=execute,
                                          auto_start=False)
    server.start()
    seen = []

    class Catch(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())
    handler = Catch()
    logging.getLogger("rosout").addHandler(handler)
    try:
        client = PickPlaceClient(name, timeout=20)
        outs = [client(Pose2D(0.0, 0.0), Pose2D(0.05, 0.05)).outcome for _ in range(40)]
    finally:
        logging.getLogger("rosout").removeHandler(handler)
    assert outs == [OUTCOME_PLACED] * 40
    assert not [m for m in seen if "not tracking" in m]
