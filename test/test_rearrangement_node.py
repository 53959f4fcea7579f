"""The Rearrange action server on a real master (rearrangement.launch: sim arena, untrained
segmenter, grasp planner, server): bad goals are aborted with a reason, a good goal runs
through capture, segment and pick_place within its budget, and the server stays up.

The untrained segmenter's hypotheses are near-random, so the good goal may end either way;
that the pipeline succeeds with good segments is tested in test_rearrangement_arena.py."""
from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.ros

NS = "/rearrtest"


@pytest.fixture(scope="module")
def server(ros_master, tmp_path_factory):
    from seg_by_interaction.ros.testing import ManagedProcess
    proc = ManagedProcess(["roslaunch", "seg_by_interaction", "rearrangement.launch",
                           f"ns:={NS.strip('/')}", "seed:=4", "output:=log"], ros_master.env,
                          tmp_path_factory.mktemp("rearrangement") / "launch.log")
    try:
        yield proc
    finally:
        proc.stop()


def _client(ros_node, server):
    import actionlib
    import rospy
    from seg_by_interaction.msg import RearrangeAction
    client = actionlib.SimpleActionClient(f"{NS}/rearrange", RearrangeAction)
    assert client.wait_for_server(rospy.Duration(120)), server.log()[-3000:]
    return client


def _send(client, goal, timeout=120.0):
    import rospy
    feedback = []
    client.send_goal(goal, feedback_cb=feedback.append)
    assert client.wait_for_result(rospy.Duration(timeout))
    return client.get_state(), client.get_result(), feedback


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
        state, result, _ = _send(client, RearrangeGoal(target=image, camera=camera))
        assert state == GoalStatus.ABORTED, name
        assert not result.success and result.interactions_used == 0, name
        assert words in result.message, (name, result.message)

    # the view as it is now, with a budget of one interaction
    state, result, feedback = _send(client, RearrangeGoal(target=rgb_to_msg(view), camera=1,
                                                         max_interactions=1))
    assert feedback and feedback[0].interactions == 0
    assert result.matched > 0 and result.interactions_used <= 1
    if state == GoalStatus.SUCCEEDED:
        assert result.success and result.interactions_used == 0
        assert result.final_distance_px <= 15.0
    else:
        assert state == GoalStatus.ABORTED and not result.success
        assert result.interactions_used == 1 and "budget of 1 interactions" in result.message
        assert result.max_distance_px > 15.0
    assert math.isfinite(result.final_distance_px)
    # still serving after moving the arm
    state, result, _ = _send(client, RearrangeGoal(target=Image(), camera=0))
    assert state == GoalStatus.ABORTED and "empty" in result.message
    assert server.alive
