"""Recording: record_interactions writes the records compacted (PNG, an I_t repeated from
the previous I_t+1 left out), reads back pixel for pixel, never overwrites an earlier bag,
and keeps the run going on a full disk; record_bag (camera streams) creates the folder and
never overwrites either."""
from __future__ import annotations

import signal
import subprocess
import threading
import time

import pytest

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def chain():
    """Three Interactions of one robot as the loop makes them with reuse_after_shot: each
    I_t is the previous I_t+1, the same message."""
    from geometry_msgs.msg import Pose2D
    from seg_by_interaction.config import load_config
    from seg_by_interaction.msg import Grasp, Interaction
    from seg_by_interaction.ros.conversions import frames_to_msg, hypothesis_to_msg
    from seg_by_interaction.sim.arena import Arena
    from seg_by_interaction.sim.footprint import footprint_grasp
    from seg_by_interaction.sim.robot import SimRobot
    from seg_by_interaction.types import Hypothesis, Pose2D as Pose
    cfg = load_config(overrides={"arena.render_processes": 1})
    msgs = []
    with Arena(cfg, seed=4) as arena:
        arena.reset_scene()
        robot = SimRobot(arena)
        robot.home()
        shot = frames_to_msg(arena.render(), "robotR")
        for k in range(3):
            before_frames = arena.render(include_ground_truth=True)
            pick = footprint_grasp(before_frames, arena.object_ids()[k % len(arena.object_ids())],
                                   arena.workspace)
            out = robot.pick_place(pick, Pose(0.1 - 0.1 * k, 0.1, 0.0), on_held=arena.render)
            after = frames_to_msg(arena.render(), "robotR")
            msg = Interaction(robot_id="robotR", interaction_id=k, outcome=out.outcome)
            msg.header.stamp.secs = 100 + k
            msg.before, msg.held, msg.after = shot, frames_to_msg(out.held_result, "robotR"), after
            mask = before_frames.gt_instances[0] == before_frames.gt_instances[0].max()
            msg.hypothesis = hypothesis_to_msg(Hypothesis(mask=mask, score=0.7, box=(1, 2, 30, 40)),
                                               k, camera=0)
            msg.grasp = Grasp(x=pick.x, y=pick.y, theta=pick.theta)
            msg.place = Pose2D(0.1 - 0.1 * k, 0.1, 0.0)
            msgs.append(msg)
            shot = after
    return msgs


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, fmt, *a):
        self.lines.append(("info", fmt % a))

    def error(self, fmt, *a):
        self.lines.append(("error", fmt % a))


def _read(paths):
    from seg_by_interaction.ros.bag_records import open_bag, read_interactions
    out = []
    for p in paths:
        bag = open_bag(p)
        try:
            out.extend(read_interactions(bag))
        finally:
            bag.close()
    return out


def test_records_read_back_pixel_for_pixel_from_a_bag_half_the_size(chain, tmp_path):
    import rosbag
    from seg_by_interaction.msg import RecordedInteraction
    from seg_by_interaction.ros.bag_records import RECORDED_TOPIC
    from seg_by_interaction.ros.interaction_codec import Packer
    from seg_by_interaction.ros.nodes.record_interactions import InteractionRecorder
    from support.sample_messages import serialized
    rec = InteractionRecorder(tmp_path / "run" / "interactions.bag", Packer("png", dedupe=True),
                              min_free_mb=0, log=_Log())
    for msg in chain:
        assert rec.write(msg)
    rec.close()
    assert rec.files == [tmp_path / "run" / "interactions.bag"]
    back = _read(rec.files)
    assert [serialized(m) for m in back] == [serialized(m) for m in chain]   # every byte, every pixel
    with rosbag.Bag(str(rec.files[0])) as bag:
        flags = [m.before_is_previous_after for _, m, _ in bag.read_messages(topics=[RECORDED_TOPIC])]
        assert bag.get_type_and_topic_info().topics[RECORDED_TOPIC].msg_type == RecordedInteraction._type
    assert flags == [False, True, True]
    raw = sum(len(serialized(m)) for m in chain)
    size = rec.files[0].stat().st_size
    assert size < 0.55 * raw, (size, raw)


def test_jpeg_records_are_smaller_still_and_close(chain, tmp_path):
    import numpy as np
    from seg_by_interaction.ros.conversions import msg_to_rgb
    from seg_by_interaction.ros.interaction_codec import Packer
    from seg_by_interaction.ros.nodes.record_interactions import InteractionRecorder
    sizes = {}
    for fmt in ("png", "jpeg"):
        rec = InteractionRecorder(tmp_path / fmt / "i.bag", Packer(fmt, 95, dedupe=True), 0, _Log())
        for msg in chain:
            rec.write(msg)
        rec.close()
        sizes[fmt] = rec.files[0].stat().st_size
    assert sizes["jpeg"] < 0.4 * sizes["png"], sizes
    back = _read([tmp_path / "jpeg" / "i.bag"])
    err = np.abs(msg_to_rgb(back[2].held.images[1]).astype(int)
                 - msg_to_rgb(chain[2].held.images[1]).astype(int))
    assert 0 < err.mean() < 3


def test_a_second_run_never_overwrites_the_first_runs_bag(chain, tmp_path):
    from seg_by_interaction.ros.bag_records import bag_paths
    from seg_by_interaction.ros.interaction_codec import Packer
    from seg_by_interaction.ros.nodes.record_interactions import InteractionRecorder
    path = tmp_path / "interactions.bag"
    files = []
    for run in range(3):
        rec = InteractionRecorder(path, Packer(dedupe=True), 0, _Log())
        rec.write(chain[run])
        rec.close()
        files += rec.files
    assert [f.name for f in files] == ["interactions.bag", "interactions-1.bag", "interactions-2.bag"]
    assert [m.interaction_id for m in _read(bag_paths(str(tmp_path)))] == [0, 1, 2]
    assert [m.interaction_id for m in _read(bag_paths(f"{files[2]}, {files[0]}"))] == [2, 0]


def test_a_full_disk_pauses_recording_once_and_resumes_in_a_new_file(chain, tmp_path):
    from seg_by_interaction.ros.interaction_codec import Packer
    from seg_by_interaction.ros.nodes.record_interactions import InteractionRecorder
    free = {"mb": 1000.0}
    log = _Log()
    rec = InteractionRecorder(tmp_path / "i.bag", Packer(dedupe=True), 200, log,
                              disk_free=lambda _: free["mb"])
    assert rec.write(chain[0])
    free["mb"] = 50.0
    assert not rec.write(chain[1]) and not rec.write(chain[1])
    free["mb"] = 1000.0
    assert rec.write(chain[2])
    rec.close()
    assert rec.skipped == 2 and rec.recorded == 2
    assert [kind for kind, _ in log.lines].count("error") == 1
    assert "50 MB free" in next(t for k, t in log.lines if k == "error")
    assert [f.name for f in rec.files] == ["i.bag", "i-1.bag"]
    # each file stands alone: record 2's I_t (record 1's I_t+1) is stored in full
    assert [m.interaction_id for m in _read(rec.files)] == [0, 2]


def test_plain_interaction_bags_of_earlier_versions_still_read(chain, tmp_path):
    import rosbag
    import rospy
    from support.sample_messages import serialized
    path = tmp_path / "old.bag"
    with rosbag.Bag(str(path), "w") as bag:
        for k, msg in enumerate(chain):
            bag.write("/interactions", msg, t=rospy.Time(100 + k))
    assert [serialized(m) for m in _read([path])] == [serialized(m) for m in chain]


def test_record_interactions_node_records_what_is_published(ros_node, chain, launch, tmp_path):
    import rospy
    from seg_by_interaction.msg import Interaction
    from support.sample_messages import serialized
    from support.ros_testing import wait_until
    pub = rospy.Publisher("/rectest/interactions", Interaction, queue_size=10)
    bag = tmp_path / "new" / "deeper" / "interactions.bag"
    proc = launch("rosrun", "seg_by_interaction", "record_interactions", "__ns:=/rectest",
                  f"_bag:={bag}", name="recorder")
    wait_until(lambda: pub.get_num_connections() > 0, 60, "the recorder to subscribe")
    for msg in chain:
        pub.publish(msg)
    from seg_by_interaction.ros.interaction_codec import Packer
    from seg_by_interaction.ros.nodes.record_interactions import InteractionRecorder
    ref = InteractionRecorder(tmp_path / "ref.bag", Packer(dedupe=True), 0, _Log())
    for msg in chain:
        ref.write(msg)
    ref.close()
    # each record is larger than rosbag's chunk, so it is on disk once written
    want = 0.95 * ref.files[0].stat().st_size
    wait_until(lambda: bag.is_file() and bag.stat().st_size >= want, 60,
               "the records to reach the bag")
    proc.stop(signal.SIGINT)
    assert "recorded 3 interactions" in proc.log(), proc.log()
    assert [serialized(m) for m in _read([bag])] == [serialized(m) for m in chain]


def test_record_bag_creates_the_folder_and_never_overwrites(ros_node, tmp_path):
    """rosbag record (camera streams) through record_bag, twice with the same -O."""
    import rosbag
    import rospy
    from support.ros_testing import wait_until
    from std_msgs.msg import String
    bag = tmp_path / "new" / "deeper" / "cameras.bag"
    pub = rospy.Publisher("/record_test", String, queue_size=10)
    for run in range(2):
        proc = subprocess.Popen(["rosrun", "seg_by_interaction", "record_bag", "-O", str(bag),
                                 "/record_test", f"__name:=record_test{run}"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        stop = threading.Event()
        try:
            wait_until(lambda: pub.get_num_connections() > 0, 60, "the recorder to subscribe")

            def publish():
                k = 0
                while not stop.is_set():
                    pub.publish(String(data=f"r{run}m{k}"))
                    k += 1
                    time.sleep(0.05)
            t = threading.Thread(target=publish, daemon=True)
            t.start()
            time.sleep(2.0)          # publishing all the while: at least a few messages land
        finally:
            stop.set()
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=60)
        wait_until(lambda: pub.get_num_connections() == 0, 30, "the recorder to go")
        assert "Error opening file" not in out, out
    first, second = bag, bag.with_name("cameras-1.bag")
    for run, path in enumerate((first, second)):
        with rosbag.Bag(str(path)) as b:
            got = [m.data for _, m, _ in b.read_messages()]
        assert len(got) >= 3 and all(g.startswith(f"r{run}m") for g in got), got
        ks = [int(g.split("m")[1]) for g in got]
        assert ks == sorted(ks)


def test_the_loop_launches_record_through_record_interactions():
    """Every launch that records the loop uses record_interactions, respawning (it never
    overwrites, so a respawn starts a new file); raw camera streams go to record_bag."""
    import xml.etree.ElementTree as ET
    from pathlib import Path
    launch_dir = Path(__file__).resolve().parents[1] / "launch"
    nodes = [(p.name, n) for p in launch_dir.glob("*.launch") for n in ET.parse(p).getroot().iter("node")]
    recorders = [(f, n) for f, n in nodes if n.get("name") == "record_interactions"]
    assert {f for f, _ in recorders} == {"interaction_loop.launch", "fleet.launch"}
    for name, node in recorders:
        assert (node.get("type"), node.get("respawn")) == ("record_interactions", "true"), name
    for name, node in nodes:
        if node.get("type") == "record_bag":
            assert "/interactions" not in (node.get("args") or ""), name
