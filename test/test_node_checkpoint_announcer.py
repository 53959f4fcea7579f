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
    """A torn newest checkpoint is seen and passed over, not announced: it is written before
    a good older one appears, so the poll that announces the older one (a condition, not a
    sleep) has seen the torn file too. Once the torn file verifies it is announced."""
    import os

    from seg_by_interaction.msg import ModelUpdate
    from support.ros_testing import wait_until
    got = []
    sub = ros_node.Subscriber("/announce_test/model_updates", ModelUpdate, got.append)

    def put(src, name):          # appears whole or not at all (a name the watcher ignores first)
        part = tmp_path / (name + ".part")
        shutil.copy(src, part)
        os.replace(part, tmp_path / name)
    try:
        launch("rosrun", "seg_by_interaction", "checkpoint_announcer", "__ns:=/announce_test",
               f"_checkpoint_dir:={tmp_path}", "_poll_hz:=5", name="announcer")
        staged = tmp_path / "staging"
        staged.mkdir()
        first = _write_checkpoint(staged, 1)
        second = _write_checkpoint(staged, 2)
        wait_until(lambda: sub.get_num_connections() > 0, 60, "the announcer's publisher")
        (tmp_path / "model_v00002.pt").write_bytes(b"being copied")   # torn, and the newest
        put(first, "model_v00001.pt")
        wait_until(lambda: len(got) >= 1, 60, "the announcement of v1")
        assert [m.version for m in got] == [1], "the torn v2 was announced"
        assert got[0].checkpoint == str(tmp_path / "model_v00001.pt")
        assert got[0].examples_seen == 7
        put(second, "model_v00002.pt")                                # v2 verifies now
        wait_until(lambda: len(got) >= 2, 60, "the announcement of v2")
        assert [m.version for m in got] == [1, 2]
        assert got[1].checkpoint == str(tmp_path / "model_v00002.pt") and got[1].examples_seen == 14
    finally:
        sub.unregister()


def test_a_starting_node_takes_the_newest_checkpoint_that_loads_and_says_why(tmp_path):
    """One policy for the trainer and the segmenter: a truncated newest checkpoint is skipped
    with its reason (the segmenter used to die on it, the trainer to skip it without a word)."""
    from seg_by_interaction.perception.checkpoint import CheckpointError, read_checkpoint
    from seg_by_interaction.training.online import start_from

    def load(path):
        return "untrained" if path is None else read_checkpoint(path)["state"]["extra"]["version"]
    assert start_from("", "", load).loaded == "untrained"
    assert start_from("", str(tmp_path), load).loaded == "untrained"   # empty folder
    _write_checkpoint(tmp_path, 1)
    second = _write_checkpoint(tmp_path, 2)
    third = _write_checkpoint(tmp_path, 3)
    data = open(third, "rb").read()
    open(third, "wb").write(data[: len(data) // 2])                     # killed mid-copy
    got = start_from("", str(tmp_path), load)
    assert (got.version, got.path, got.loaded) == (2, second, 2)
    assert [p for p, _ in got.skipped] == [third] and "SHA-256" in got.skipped[0][1]
    assert "v2" in got.describe() and "model_v00003.pt skipped" in got.describe()
    with pytest.raises(CheckpointError):                                # the user's own file
        start_from(third, str(tmp_path), load)


def test_the_trainer_resumes_from_the_newest_good_checkpoint_and_sets_the_bad_one_aside(tmp_path):
    from seg_by_interaction.training.online import OnlineTrainer, list_checkpoints
    ck = tmp_path / "checkpoints"
    ck.mkdir()
    _write_checkpoint(ck, 1)
    bad = _write_checkpoint(ck, 2)
    open(bad, "r+b").truncate(1000)
    online = OnlineTrainer(load_config(overrides=SMALL), tmp_path)
    try:
        assert online.version == 1 and online.examples_seen == 7
        assert [v for v, _ in list_checkpoints(ck)] == [1]
        assert (ck / "model_v00002.pt.damaged").stat().st_size == 1000
        assert "model_v00002.pt skipped" in online.resumed.describe()
    finally:
        online.close()
