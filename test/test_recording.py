"""record_bag (the launches' recorder) creates the bag's folder, so `record:=true
data_dir:=NEWDIR` records instead of dying with "Error opening file"."""
from __future__ import annotations

import signal
import subprocess
import time

import pytest

pytestmark = pytest.mark.ros


def test_record_bag_creates_the_folder_and_records(ros_node, tmp_path):
    import rosbag
    import rospy
    from seg_by_interaction.ros.testing import wait_until
    from std_msgs.msg import String
    bag = tmp_path / "new" / "deeper" / "interactions.bag"
    pub = rospy.Publisher("/record_test", String, queue_size=10)
    proc = subprocess.Popen(["rosrun", "seg_by_interaction", "record_bag", "-O", str(bag),
                             "/record_test", "__name:=record_test"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: pub.get_num_connections() > 0, 60, "the recorder to subscribe")
        for k in range(3):
            pub.publish(String(data=f"m{k}"))
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert "Error opening file" not in out, out
    with rosbag.Bag(str(bag)) as b:
        assert [m.data for _, m, _ in b.read_messages()] == ["m0", "m1", "m2"]


def test_the_loop_launches_record_through_record_bag():
    """Every launch that records uses record_bag, required (a dead recorder stops the run)."""
    import xml.etree.ElementTree as ET
    from pathlib import Path
    launch_dir = Path(__file__).resolve().parents[1] / "launch"
    recorders = [(p.name, n) for p in launch_dir.glob("*.launch")
                 for n in ET.parse(p).getroot().iter("node") if n.get("name") == "record_interactions"]
    assert len(recorders) >= 3
    for name, node in recorders:
        assert (node.get("pkg"), node.get("type"), node.get("required")) == \
            ("seg_by_interaction", "record_bag", "true"), name
