"""checkpoint_announcer: checkpoints written by a trainer outside ROS (torchrun on a GPU
box) become ModelUpdate messages; a torn checkpoint is not announced until it verifies."""
from __future__ import annotations

import shutil

import pytest

from seg_by_interaction.config import load_config

SMALL = {"model.trunk_width": 16, "model.window": 64, "model.mask_size": 16,
         "model.embedding_dim": 64, "model.score_hidden": 64, "model.reduce_channels": 32}


def _write_checkpoint(directory, version: int) -> str:
    from seg_by_interaction.training.online import checkpoint_path
    from seg_by_interaction.training.trainer import Trainer
    path = checkpoint_path(directory, version)
    Trainer(load_config(overrides=SMALL)).save(path, extra={"version": version, "examples_seen": 7 * version})
    return str(path)


def test_watcher_reports_each_verified_checkpoint_once(tmp_path):
    from seg_by_interaction.training.online import CheckpointWatcher, checkpoint_path
    watcher = CheckpointWatcher(tmp_path)
    assert watcher.poll() is None
    first = _write_checkpoint(tmp_path, 1)
    assert watcher.poll() == (1, first, {"version": 1, "examples_seen": 7})
    assert watcher.poll() is None
    torn = checkpoint_path(tmp_path, 2)
    torn.write_bytes(b"half a file")
    assert watcher.poll() is None                # not announced, retried later
    third = _write_checkpoint(tmp_path, 3)
    assert watcher.poll()[:2] == (3, third)      # the newest readable one
    assert CheckpointWatcher(tmp_path, after_version=3).poll() is None


@pytest.mark.ros
def test_announcer_node_publishes_new_checkpoints(ros_node, launch, tmp_path):
    from seg_by_interaction.msg import ModelUpdate
    from seg_by_interaction.ros.testing import wait_until
    got = []
    sub = ros_node.Subscriber("/announce_test/model_updates", ModelUpdate, got.append)
    try:
        launch("rosrun", "seg_by_interaction", "checkpoint_announcer", "__ns:=/announce_test",
               f"_checkpoint_dir:={tmp_path}", "_poll_hz:=5", name="announcer")
        staged = tmp_path / "staging"
        staged.mkdir()
        path = _write_checkpoint(staged, 1)
        wait_until(lambda: sub.get_num_connections() > 0, 60, "the announcer's publisher")
        (tmp_path / "model_v00001.pt").write_bytes(b"being copied")   # torn first
        ros_node.sleep(1.5)                                          # several polls at 5 Hz
        assert not got
        shutil.copy(path, tmp_path / "model_v00001.pt")
        wait_until(lambda: len(got) == 1, 60, "the announcement")
        assert got[0].version == 1 and got[0].checkpoint == str(tmp_path / "model_v00001.pt")
        assert got[0].examples_seen == 7
    finally:
        sub.unregister()


def test_choose_checkpoint_for_a_starting_node(tmp_path):
    from seg_by_interaction.training.online import choose_checkpoint
    assert choose_checkpoint("", "") == (0, None)
    assert choose_checkpoint("", str(tmp_path)) == (0, None)          # empty folder: untrained
    path = _write_checkpoint(tmp_path, 2)
    assert choose_checkpoint("", str(tmp_path)) == (2, path)          # newest numbered one
    assert choose_checkpoint("/x/model.pt", str(tmp_path)) == (0, "/x/model.pt")
