"""The labeler node on a real master: a good record is labelled and receipted once even
when sent twice; a bad record gets a failed receipt and the node stays up."""
from __future__ import annotations

import queue

import pytest

pytestmark = pytest.mark.ros


def _interaction(robot_id="robotX", iid=7):
    from geometry_msgs.msg import Pose2D
    from seg_by_interaction.config import load_config
    from seg_by_interaction.msg import Grasp, Interaction
    from seg_by_interaction.ros.conversions import frames_to_msg
    from seg_by_interaction.sim.arena import Arena
    from seg_by_interaction.sim.footprint import footprint_grasp
    from seg_by_interaction.sim.robot import SimRobot
    from seg_by_interaction.types import Pose2D as Pose
    cfg = load_config()
    with Arena(cfg, seed=4) as arena:
        arena.reset_scene()
        robot = SimRobot(arena)
        robot.home()
        before = arena.render(include_ground_truth=True)
        pick = footprint_grasp(before, arena.object_ids()[0], arena.workspace)
        x, y = pick.x, pick.y
        out = robot.pick_place(pick, Pose(0.1, 0.1, 0.0), on_held=arena.render)
        before.gt_instances = None
        after = arena.render()
    msg = Interaction(robot_id=robot_id, interaction_id=iid, outcome=out.outcome)
    msg.before, msg.held, msg.after = (frames_to_msg(f, robot_id) for f in (before, out.held_result, after))
    msg.grasp = Grasp(x=x, y=y)
    msg.place = Pose2D(0.1, 0.1, 0.0)
    return msg


def test_labeler_node(ros_node, launch, tmp_path):
    import rospy
    from seg_by_interaction.config import load_config
    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.msg import Interaction, InteractionLabelled, LabeledExample
    from support.ros_testing import wait_until
    receipts: queue.Queue = queue.Queue()
    examples: queue.Queue = queue.Queue()
    rospy.Subscriber("/labtest/labelled", InteractionLabelled, receipts.put)
    rospy.Subscriber("/labtest/examples", LabeledExample, examples.put)
    pub = rospy.Publisher("/labtest/interactions", Interaction, queue_size=10)
    launch("rosrun", "seg_by_interaction", "labeler", "__ns:=/labtest",
           f"_data_dir:={tmp_path}", name="labeler")
    wait_until(lambda: pub.get_num_connections() > 0, 60, "the labeler to subscribe")
    good = _interaction()
    pub.publish(good)
    receipt = receipts.get(timeout=60)
    assert (receipt.robot_id, receipt.interaction_id, receipt.failed) == ("robotX", 7, False)
    assert receipt.views >= 4 and receipt.positives >= 1
    got = [examples.get(timeout=10) for _ in range(receipt.views)]
    assert {e.camera for e in got} <= {0, 1, 2, 3} and all(e.example_id > 0 for e in got)
    positive = next(e for e in got if e.positive)
    assert positive.mask.encoding == "mono8" and positive.image.encoding == "rgb8"
    pub.publish(good)                                         # a re-sent record
    assert not receipts.get(timeout=60).failed
    store = DatasetStore(tmp_path / "store", load_config())
    assert store.count() == receipt.views                     # stored once
    bad = Interaction(robot_id="robotX", interaction_id=8)    # no images at all
    bad.before = good.before
    pub.publish(bad)
    failed = receipts.get(timeout=60)
    assert failed.failed and failed.interaction_id == 8 and failed.message
    pub.publish(_interaction(iid=9))
    assert not receipts.get(timeout=60).failed                # still labelling
    assert store.count_interactions() == 2


def test_store_failures_and_impossible_points_get_failed_receipts(ros_node, launch, tmp_path):
    """The store failing (here: its tmp folder replaced by a file, as a full or broken disk
    would) and a NaN / off-arena grasp each get a failed receipt, so the coordinator stops
    re-sending, and the labeller goes on once the store works again."""
    import shutil

    import rospy
    from seg_by_interaction.msg import Interaction, InteractionLabelled
    from support.ros_testing import wait_until
    receipts: queue.Queue = queue.Queue()
    rospy.Subscriber("/labfail/labelled", InteractionLabelled, receipts.put)
    pub = rospy.Publisher("/labfail/interactions", Interaction, queue_size=10)
    launch("rosrun", "seg_by_interaction", "labeler", "__ns:=/labfail",
           f"_data_dir:={tmp_path}", name="labeler")
    wait_until(lambda: pub.get_num_connections() > 0, 60, "the labeler to subscribe")
    msg = _interaction(iid=10)
    first = _interaction(iid=9)
    pub.publish(first)
    assert not receipts.get(timeout=60).failed
    tmp = tmp_path / "store" / "tmp"
    shutil.rmtree(tmp)
    tmp.write_text("not a folder")
    pub.publish(msg)
    failed = receipts.get(timeout=60)
    assert failed.failed and failed.interaction_id == 10 and "store failed" in failed.message
    tmp.unlink()
    tmp.mkdir()
    for iid, (x, y) in ((11, (float("nan"), 0.0)), (12, (5.0, -5.0))):
        bad = _interaction(iid=iid)
        bad.grasp.x, bad.grasp.y = x, y
        pub.publish(bad)
        refused = receipts.get(timeout=60)
        assert refused.failed and refused.interaction_id == iid and "refused" in refused.message
    pub.publish(msg)                                          # the re-sent record, store fixed
    ok = receipts.get(timeout=60)
    assert not ok.failed and ok.interaction_id == 10 and ok.views >= 4


def test_the_gripper_reading_reaches_the_labeller(ros_node, launch, tmp_path):
    """labeling.use_gripper both: a record whose gripper felt nothing keeps no positive view,
    the same record with the object in the gripper keeps its positives."""
    import rospy
    from seg_by_interaction.msg import Interaction, InteractionLabelled
    from support.ros_testing import wait_until
    receipts: queue.Queue = queue.Queue()
    rospy.Subscriber("/labgrip/labelled", InteractionLabelled, receipts.put)
    pub = rospy.Publisher("/labgrip/interactions", Interaction, queue_size=10)
    launch("rosrun", "seg_by_interaction", "labeler", "__ns:=/labgrip", f"_data_dir:={tmp_path}",
           "_overrides:={labeling.use_gripper: both}", name="labeler")
    wait_until(lambda: pub.get_num_connections() > 0, 60, "the labeler to subscribe")
    felt_nothing = _interaction(iid=20)
    felt_nothing.object_in_gripper = False
    pub.publish(felt_nothing)
    r = receipts.get(timeout=60)
    assert not r.failed and r.positives == 0
    held = _interaction(iid=21)
    held.object_in_gripper = True
    pub.publish(held)
    r = receipts.get(timeout=60)
    assert not r.failed and r.positives >= 1
