"""A simulated robot on a real master, as users start it (sim_arena.launch): the world
node (triggered camera streams, gripper driver, reset_arena, ground truth on debug topics)
under camera_capture (capture_frames) and pick_place_server (the PickPlace action: good,
invalid, unreachable, preempted goals), the same two nodes that run on the Sawyer."""
from __future__ import annotations


import pytest

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def arena_node(ros_master, tmp_path_factory):
    from support.ros_testing import ManagedProcess, wait_for_service
    proc = ManagedProcess(["roslaunch", "seg_by_interaction", "sim_arena.launch", "ns:=armtest",
                           "seed:=3"], ros_master.env,
                          tmp_path_factory.mktemp("sim_arena") / "sim_arena.log")
    try:
        for name in ("reset_arena", "capture_frames"):
            wait_for_service(f"/armtest/{name}", timeout=120)
        yield proc
    finally:
        proc.stop()


def _client(ros_node):
    """A plain ActionClient: SimpleActionClient can drop a refusal the server sends within a
    millisecond, as for the bad goals below (support/actions.py)."""
    from seg_by_interaction.msg import PickPlaceAction
    from support.actions import action_client
    return action_client("/armtest/pick_place", PickPlaceAction, 60)


def test_capture_frames_and_streams(ros_node, arena_node):
    import queue
    import rospy
    from sensor_msgs.msg import CameraInfo, Image
    from seg_by_interaction.ros.conversions import msg_to_camera, msg_to_frames
    from seg_by_interaction.srv import CaptureFrames
    from support.ros_testing import wait_until
    streamed: queue.Queue = queue.Queue()
    sub = rospy.Subscriber("/armtest/cam2/image_raw", Image, streamed.put)
    info = rospy.wait_for_message("/armtest/cam0/camera_info", CameraInfo, timeout=30)
    # the stream publishes once per shot: connected before the shot, or the image is missed
    wait_until(lambda: sub.get_num_connections() > 0, 30, "the cam2 stream to connect")
    capture = rospy.ServiceProxy("/armtest/capture_frames", CaptureFrames)
    resp = capture(include_ground_truth=False)
    assert resp.success, resp.message
    frames = msg_to_frames(resp.frames)
    assert len(frames.images) == 4 and all(i.shape == (350, 430, 3) for i in frames.images)
    assert not frames.gt_instances
    assert resp.frames.robot_id == "armtest"
    assert msg_to_camera(info).width == 430
    shot = resp.frames.images[2].header.stamp.to_sec()
    img = streamed.get(timeout=30)             # the world's stream, the shot capture fired
    while abs(img.header.stamp.to_sec() - shot) >= 1e-6 and img.header.stamp.to_sec() < shot:
        img = streamed.get(timeout=30)         # (an earlier shot's image, if any, is skipped)
    assert (img.height, img.width, img.encoding) == (350, 430, "rgb8")
    assert abs(img.header.stamp.to_sec() - shot) < 1e-6
    assert bytes(img.data) == bytes(resp.frames.images[2].data)
    sub.unregister()
    refused = capture(include_ground_truth=True)   # cameras have no ground truth
    assert not refused.success and "debug/camN/instances" in refused.message


def _ground_truth(camera: int = 0):
    """The world's instance image for the next shot (debug topic), fired through capture."""
    import queue
    import rospy
    from sensor_msgs.msg import Image
    from seg_by_interaction.ros.conversions import msg_to_instances
    from seg_by_interaction.srv import CaptureFrames
    got: queue.Queue = queue.Queue()
    sub = rospy.Subscriber(f"/armtest/debug/cam{camera}/instances", Image, got.put)
    from support.ros_testing import wait_until
    wait_until(lambda: sub.get_num_connections() > 0, 30, "the debug topic")
    assert rospy.ServiceProxy("/armtest/capture_frames", CaptureFrames)().success
    msg = got.get(timeout=30)
    sub.unregister()
    return msg_to_instances(msg)


def test_pick_place_goals(ros_node, arena_node):
    import actionlib
    from geometry_msgs.msg import Pose2D
    from seg_by_interaction.msg import PickPlaceGoal, PickPlaceResult
    from support.actions import Goal
    client = _client(ros_node)
    sent = Goal(client, PickPlaceGoal(pick=Pose2D(0.0, 0.0, 0.0), place=Pose2D(0.1, -0.1, 0.5),
                                      capture_held=True))
    status, result = sent.wait(120)
    assert status == actionlib.GoalStatus.SUCCEEDED
    phases = [f.phase for f in sent.feedback]
    assert result.outcome == PickPlaceResult.OUTCOME_PLACED
    assert len(result.held_frames.images) == 4
    assert result.pick_seconds > 0 and result.place_seconds > 0
    # feedback is a topic: the first phases may precede the connection, the last ones arrive
    assert phases and set(phases) <= {"approach", "descend", "close", "lift", "held", "place",
                                      "release", "retreat"}
    assert phases[-1] == "retreat"

    for pick, outcome in ((Pose2D(float("nan"), 0, 0), PickPlaceResult.OUTCOME_INVALID_GOAL),
                          (Pose2D(5.0, 0, 0), PickPlaceResult.OUTCOME_UNREACHABLE)):
        status, result = Goal(client, PickPlaceGoal(pick=pick, place=Pose2D(0, 0, 0))).wait(30)
        assert status == actionlib.GoalStatus.ABORTED
        assert result.outcome == outcome
        assert result.message


def test_preempt_mid_motion(ros_node, arena_node):
    import actionlib
    from geometry_msgs.msg import Pose2D
    from seg_by_interaction.msg import PickPlaceGoal, PickPlaceResult
    from support.actions import Goal
    from support.ros_testing import wait_until
    client = _client(ros_node)
    sent = Goal(client, PickPlaceGoal(pick=Pose2D(-0.1, 0.1, 1.0), place=Pose2D(0.15, 0.15, 0.0)))
    wait_until(lambda: sent.feedback, 60, "the first feedback")
    sent.cancel()
    status, result = sent.wait(60)
    assert status == actionlib.GoalStatus.PREEMPTED
    assert result.outcome == PickPlaceResult.OUTCOME_PREEMPTED
    assert "retreat" not in [f.phase for f in sent.feedback]


def test_reset_arena(ros_node, arena_node):
    import rospy
    from seg_by_interaction.srv import CaptureFrames, ResetArena
    reset = rospy.ServiceProxy("/armtest/reset_arena", ResetArena)
    capture = rospy.ServiceProxy("/armtest/capture_frames", CaptureFrames)
    before = _ground_truth()
    assert before.max() > 0
    assert (_ground_truth() == before).all()            # nothing moved: the same instances
    first = capture(include_ground_truth=False).frames
    resp = reset(sweep=False, new_scene=True, background=-2)
    assert resp.success and "new scene" in resp.message
    after = _ground_truth()
    # other objects, elsewhere, and (arena.cameras.vary) seen by cameras that moved
    assert after.max() > 0 and (after.shape != before.shape or (after != before).mean() > 0.001)
    moved = capture(include_ground_truth=False).frames
    assert moved.camera_info[0].P != first.camera_info[0].P
    for img, info in zip(moved.images, moved.camera_info):   # each shot's own camera models
        assert (img.width, img.height) == (info.width, info.height)
    assert reset(sweep=True, new_scene=False, background=-1).success
    assert not reset(sweep=False, new_scene=False, background=9999).success
    assert not reset(sweep=False, new_scene=False, background=-7).success
    assert capture(include_ground_truth=False).success  # still serving


def test_gripper_command_refuses_bad_commands_and_stays_up(ros_node, arena_node):
    """The world's driver service: NaN, off-table targets, absurd waits and unknown
    commands are refused at once (a move to x = 100 m would otherwise run for minutes)."""
    import time

    import rospy
    from seg_by_interaction.srv import GripperCommand, GripperCommandRequest as R
    cmd = rospy.ServiceProxy("/armtest/gripper_command", GripperCommand)
    t0 = time.monotonic()
    for req, why in ((R(command=R.MOVE, x=float("nan"), z=0.2), "non-finite"),
                     (R(command=R.MOVE, x=100.0, z=0.2), "off the table"),
                     (R(command=R.MOVE, x=0.0, z=50.0), "tip height"),
                     (R(command=R.WAIT, seconds=1e9), "seconds must be"),
                     (R(command=R.GO_TO, pose="moon"), "unknown pose"),
                     (R(command=99), "unknown gripper command")):
        resp = cmd(req)
        assert not resp.success and why in resp.message, (req.command, resp.message)
    assert time.monotonic() - t0 < 10
    tip = cmd(R(command=R.TIP))
    assert tip.success and 0.0 <= tip.z <= 1.0                  # still serving, where it was
