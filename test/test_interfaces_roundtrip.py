"""Every generated message, service and action type works on a real master."""
from __future__ import annotations

import inspect
import queue
import subprocess

import pytest

pytestmark = pytest.mark.ros


def _message_types():
    import seg_by_interaction.msg as m
    return sorted((name, cls) for name, cls in inspect.getmembers(m, inspect.isclass)
                  if hasattr(cls, "_type") and cls._type.startswith("seg_by_interaction/"))


def _service_types():
    import seg_by_interaction.srv as s
    return sorted((name, cls) for name, cls in inspect.getmembers(s, inspect.isclass)
                  if hasattr(cls, "_request_class"))


def test_all_interfaces_generated():
    names = {n for n, _ in _message_types()}
    expected = {"Hypothesis", "HypothesisArray", "Grasp", "FrameSet", "Interaction",
                "LabeledExample", "ModelUpdate", "PickPlaceAction", "PickPlaceGoal",
                "PickPlaceResult", "PickPlaceFeedback"}
    assert expected <= names
    assert {n for n, _ in _service_types()} >= {"Segment", "PlanGrasp", "CaptureFrames",
                                                "ResetArena"}


def test_every_message_roundtrips_through_a_topic(ros_node):
    import rospy
    from support.sample_messages import sample, serialized
    from support.ros_testing import wait_until
    types = _message_types()
    assert len(types) >= 11
    for i, (name, cls) in enumerate(types):
        got: queue.Queue = queue.Queue()
        topic = f"/roundtrip/{name.lower()}"
        sub = rospy.Subscriber(topic, cls, got.put)
        pub = rospy.Publisher(topic, cls, queue_size=1, latch=True)
        sent = sample(cls, seed=i + 1)
        pub.publish(sent)
        wait_until(lambda: not got.empty(), 20, f"{name} on {topic}")
        received = got.get()
        assert serialized(received) == serialized(sent), name
        sub.unregister()
        pub.unregister()


def test_every_service_roundtrips(ros_node):
    import rospy
    from support.sample_messages import sample, serialized
    for i, (name, cls) in enumerate(_service_types()):
        req_sent = sample(cls._request_class, seed=i + 10)
        resp_sent = sample(cls._response_class, seed=i + 20)
        seen = []

        def handle(req, resp=resp_sent):
            seen.append(req)
            return resp

        srv = rospy.Service(f"/roundtrip/{name.lower()}", cls, handle)
        try:
            rospy.wait_for_service(f"/roundtrip/{name.lower()}", timeout=20)
            resp = rospy.ServiceProxy(f"/roundtrip/{name.lower()}", cls)(req_sent)
            assert serialized(seen[0]) == serialized(req_sent), name
            assert serialized(resp) == serialized(resp_sent), name
        finally:
            srv.shutdown()


def test_rosservice_call_from_the_command_line(ros_node, ros_master):
    """The way a person calls the segmenter: `rosservice call` with inline YAML."""
    import rospy
    from seg_by_interaction.msg import HypothesisArray
    from seg_by_interaction.srv import Segment, SegmentResponse
    seen = []

    def handle(req):
        seen.append(req)
        return SegmentResponse(success=True, message=f"{len(req.image.data)} bytes",
                               hypotheses=HypothesisArray(model_version=7))

    srv = rospy.Service("/cli_segment", Segment, handle)
    try:
        rospy.wait_for_service("/cli_segment", timeout=20)
        out = subprocess.run(
            ["rosservice", "call", "/cli_segment",
             "{image: {height: 2, width: 2, encoding: 'mono8', step: 2, data: [10, 20, 30, 40]},"
             " camera: -1, max_hypotheses: 5, min_score: 0.25}"],
            env=ros_master.env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "success: True" in out.stdout
        assert "4 bytes" in out.stdout and "model_version: 7" in out.stdout
        assert seen[0].max_hypotheses == 5 and seen[0].camera == -1
        assert list(seen[0].image.data) == [10, 20, 30, 40]
        assert seen[0].min_score == pytest.approx(0.25)
    finally:
        srv.shutdown()


def test_pick_place_action_goal_feedback_result(ros_node):
    import actionlib
    import rospy
    from geometry_msgs.msg import Pose2D
    from seg_by_interaction.msg import (PickPlaceAction, PickPlaceFeedback, PickPlaceGoal,
                                        PickPlaceResult)
    from support.actions import Goal, action_client

    def execute(goal):
        server.publish_feedback(PickPlaceFeedback(phase="approach", progress=0.5))
        rospy.sleep(0.3)
        server.set_succeeded(PickPlaceResult(
            outcome=PickPlaceResult.OUTCOME_PLACED, message=f"to {goal.place.x:.2f}",
            object_in_gripper=True, pick_seconds=1.5))

    server = actionlib.SimpleActionServer("/roundtrip_pick_place", PickPlaceAction,
                                          execute_cb=execute, auto_start=False)
    server.start()
    # a plain ActionClient: SimpleActionClient can drop feedback sent at once (support/actions.py)
    client = action_client("/roundtrip_pick_place", PickPlaceAction, 20)
    sent = Goal(client, PickPlaceGoal(pick=Pose2D(0.1, 0.2, 0.3), place=Pose2D(-0.1, 0.05, 0.0),
                                      capture_held=True))
    status, result = sent.wait(20)
    assert status == actionlib.GoalStatus.SUCCEEDED
    assert result.message == "to -0.10" and result.object_in_gripper
    assert result.pick_seconds == pytest.approx(1.5)
    assert [f.phase for f in sent.feedback] == ["approach"]
