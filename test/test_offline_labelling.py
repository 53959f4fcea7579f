"""Offline labelling reads the bag itself: a good bag is labelled completely and the node
exits 0; a truncated, damaged or non-bag file ends it non-zero with the reason, leaving no
store behind when nothing could be read."""
from __future__ import annotations

import math
import os
import re
import subprocess
from pathlib import Path

import pytest

from test_node_labeler import _interaction

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def records():
    good = [_interaction(iid=1), _interaction(iid=2)]
    nan = _interaction(iid=3)
    nan.grasp.x = math.nan
    return good, nan


def _write_bag(path: Path, msgs) -> Path:
    import rosbag
    import rospy
    with rosbag.Bag(str(path), "w") as bag:
        for k, msg in enumerate(msgs):
            bag.write("/interactions", msg, t=rospy.Time(100 + k))
    return path


def _label(ros_master, bag: Path, data_dir: Path):
    return subprocess.run(["rosrun", "seg_by_interaction", "labeler", f"_bag:={bag}",
                           f"_data_dir:={data_dir}", "__name:=offline_test"],
                          env=ros_master.env, capture_output=True, text=True, timeout=300)


def test_good_bag_is_labelled_completely_and_bad_records_counted(ros_master, records, tmp_path):
    from seg_by_interaction.config import load_config
    from seg_by_interaction.data.store import DatasetStore
    good, nan = records
    bag = _write_bag(tmp_path / "in.bag", [good[0], nan, good[1]])
    out = _label(ros_master, bag, tmp_path / "out")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "labelled 2 of 3 records (1 refused, 0 store failures)" in out.stdout + out.stderr
    assert "grasp point (nan" in out.stdout + out.stderr
    store = DatasetStore(tmp_path / "out" / "store", load_config())
    assert store.count_interactions() == 2
    store.close()


def test_truncated_bag_fails_with_the_reason_and_creates_nothing(ros_master, records, tmp_path):
    good, _ = records
    bag = _write_bag(tmp_path / "in.bag", good)
    data = bag.read_bytes()
    cut = tmp_path / "cut.bag"
    cut.write_bytes(data[: len(data) * 2 // 3])          # recording killed mid-write
    out = _label(ros_master, cut, tmp_path / "out")
    assert out.returncode != 0
    assert "reindex" in out.stdout + out.stderr, out.stdout + out.stderr
    assert not (tmp_path / "out").exists()


def test_non_bag_file_fails_with_the_reason_and_creates_nothing(ros_master, tmp_path):
    junk = tmp_path / "junk.bag"
    junk.write_bytes(os.urandom(4096))
    out = _label(ros_master, junk, tmp_path / "out")
    assert out.returncode != 0
    assert "is not a readable bag" in out.stdout + out.stderr, out.stdout + out.stderr
    assert not (tmp_path / "out").exists()


def test_damaged_record_reports_how_far_it_got(ros_master, records, tmp_path):
    """Index intact, the second record's header damaged: the first record is kept and the
    exit says how far the bag was read."""
    good, _ = records
    bag = _write_bag(tmp_path / "in.bag", good)
    data = bytearray(bag.read_bytes())
    ops = [m.start() for m in re.finditer(re.escape(b"op=\x02"), data)]     # message records
    assert len(ops) == 2
    data[ops[1] + 3] = 0x09                               # an op code no bag has
    bag.write_bytes(bytes(data))
    out = _label(ros_master, bag, tmp_path / "out")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "1 of 2 records were labelled before the damage" in text, text


def test_a_folder_with_one_cut_off_bag_labels_the_others_and_says_which(ros_master, records, tmp_path):
    """A run restarted after a kill leaves interactions.bag (cut off: no index) and
    interactions-1.bag: the readable one is labelled, the other named with the reindex hint,
    and the exit status says not everything was read."""
    from seg_by_interaction.config import load_config
    from seg_by_interaction.data.store import DatasetStore
    good, _ = records
    run = tmp_path / "run"
    run.mkdir()
    whole = _write_bag(tmp_path / "whole.bag", good).read_bytes()
    (run / "interactions.bag").write_bytes(whole[: len(whole) * 2 // 3])
    _write_bag(run / "interactions-1.bag", [good[1]])
    out = _label(ros_master, run, tmp_path / "out")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "interactions.bag has no index" in text and "reindex" in text
    with DatasetStore(tmp_path / "out" / "store", load_config(), read_only=True) as store:
        assert store.count_interactions() == 1
