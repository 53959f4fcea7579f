"""The Rearrange action server on a real master (rearrangement.launch: sim arena, untrained
segmenter, grasp planner, server): bad goals are aborted with a reason, a good goal runs
through capture, segment and pick_place within its budget, and the server stays up.

The untrained segmenter's hypotheses are near-random, so the good goal's target is built so
that any segmentation needs a move (the current view, shifted); that the pipeline succeeds
with good segments is tested in test_rearrangement_arena.py."""
from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.ros

NS = "/rearrtest"
SHIFT = 48          # px the good goal's target is shifted by (3 network strides at scale 1)


@pytest.fixture(scope="module")
def server(ros_master, tmp_path_factory):
    from support.ros_testing import ManagedProcess
    proc = ManagedProcess(["roslaunch", "seg_by_interaction", "rearrangement.launch",
                           f"ns:={NS.strip('/')}", "seed:=4", "output:=log"], ros_master.env,
                          tmp_path_factory.mktemp("rearrangement") / "launch.log")
    try:
        yield proc
    finally:
        proc.stop()


def _client(ros_node, server):
    """A plain ActionClient (support/actions.py: this server refuses a bad goal within a
    millisecond, and SimpleActionClient can drop that refusal)."""
    from seg_by_interaction.msg import RearrangeAction
    from support.actions import action_client
    return action_client(f"{NS}/rearrange", RearrangeAction, 120, why=lambda: server.log()[-3000:])


def _send(client, goal, timeout=120.0, server=None):
    """Send one goal, wait for its end; (terminal status, result, feedback list)."""
    from support.actions import Goal
    sent = Goal(client, goal)
    status, result = sent.wait(timeout, why=lambda: "the launch's log ends:\n"
                               + (server.log()[-4000:] if server else ""))
    return status, result, sent.feedback


def test_bad_goals_aborted_and_good_goal_served(ros_node, server):
    from actionlib import GoalStatus
    from sensor_msgs.msg import Image
    from seg_by_interaction.msg import RearrangeGoal
    from seg_by_interaction.ros.conversions import msg_to_rgb, rgb_to_msg
    from seg_by_interaction.srv import CaptureFrames
    client = _client(ros_node, server)
    import rospy
    capture = rospy.ServiceProxy(f"{NS}/capture_frames", CaptureFrames)
    frames = capture(include_ground_truth=False).frames
    view = msg_to_rgb(frames.images[1])

    bad = {
        "empty": (Image(), 0, "empty"),
        "encoding": (Image(height=4, width=4, encoding="32FC1", step=16, data=bytes(64)), 0,
                     "encoding"),
        "mono": (Image(height=2, width=2, encoding="mono8", step=2, data=bytes(4)), 0, "colour"),
        "size": (rgb_to_msg(np.zeros((120, 160, 3), np.uint8)), 1, "160x120"),
        "camera": (frames.images[1], 9, "camera 9"),
    }
    for name, (image, camera, words) in bad.items():
        state, result, _ = _send(client, RearrangeGoal(target=image, camera=camera), server=server)
        assert state == GoalStatus.ABORTED, name
        assert not result.success and result.interactions_used == 0, name
        assert words in result.message, (name, result.message)

    # A goal that needs a move, whatever the untrained segmenter proposes: the target is the
    # current view shifted right by SHIFT px, so every segment matched between the two lies
    # ~SHIFT px (> the 15 px tolerance) from its partner. With a budget of one interaction
    # the episode must pick/place exactly once (seen on the pick_place action's result topic)
    # and then stop on the budget, the other pairs still too far.
    from seg_by_interaction.msg import PickPlaceActionResult
    placed = []
    pp_sub = rospy.Subscriber(f"{NS}/pick_place/result", PickPlaceActionResult, placed.append)
    from support.ros_testing import wait_until
    wait_until(lambda: pp_sub.get_num_connections() > 0, 60, "the pick_place result topic")
    target = np.roll(view, SHIFT, axis=1)
    state, result, feedback = _send(client, RearrangeGoal(target=rgb_to_msg(target), camera=1,
                                                         max_interactions=1), timeout=300,
                                    server=server)
    assert feedback and feedback[0].interactions == 0 and feedback[0].remaining > 0, feedback
    assert state == GoalStatus.ABORTED and not result.success, result.message
    assert result.interactions_used == 1, result.message
    assert "budget of 1 interactions" in result.message, result.message
    assert result.matched > 0 and result.max_distance_px > 15.0
    assert math.isfinite(result.final_distance_px)
    # re-judged after the move: feedback and result travel on separate topics, so the last
    # feedback may land just after the result
    wait_until(lambda: [f.interactions for f in feedback][-1] == 1, 10, "the feedback after the move")
    wait_until(lambda: placed, 30, "the pick_place result")
    pp_sub.unregister()
    assert len(placed) == 1 and placed[0].status.status == GoalStatus.SUCCEEDED
    # still serving after moving the arm
    state, result, _ = _send(client, RearrangeGoal(target=Image(), camera=0), server=server)
    assert state == GoalStatus.ABORTED and "empty" in result.message
    assert server.alive
