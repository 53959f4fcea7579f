"""The trainer node on a real master: ~train_now trains on the pending examples at once,
announces the new checkpoint on model_updates, and says so when there is nothing new."""
from __future__ import annotations

import queue

import numpy as np
import pytest

pytestmark = pytest.mark.ros

OVERRIDES = "{training.pretrain_steps: 2, training.update_every: 1000, training.steps_per_update: 2, training.batch_size: 4}"


def _fill_store(store_dir, count: int, start: int = 0):
    from seg_by_interaction.config import load_config
    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.training.synthetic import blob_examples
    store = DatasetStore(store_dir, load_config())
    for k, ex in enumerate(blob_examples(np.random.default_rng(start), count)):
        store.add_example(ex.image, ex.pick_px, ex.mask, robot_id="robotT",
                          interaction_id=str(start + k), source="interaction")
    store.close()


def test_train_now_updates_and_announces(ros_node, launch, tmp_path):
    import rospy
    from seg_by_interaction.msg import ModelUpdate
    from seg_by_interaction.ros.testing import wait_for_service
    from seg_by_interaction.srv import TrainNow
    _fill_store(tmp_path / "store", 3)
    updates: queue.Queue = queue.Queue()
    rospy.Subscriber("/trainer_test/model_updates", ModelUpdate, updates.put)
    launch("rosrun", "seg_by_interaction", "trainer", "__ns:=/trainer_test", "__name:=trainer",
           f"_data_dir:={tmp_path}", f"_overrides:={OVERRIDES}", name="trainer")
    wait_for_service("/trainer_test/trainer/train_now", timeout=120)
    train_now = rospy.ServiceProxy("/trainer_test/trainer/train_now", TrainNow)
    first = train_now()
    assert first.success and first.version >= 1 and first.message == "updated"
    update = updates.get(timeout=30)
    assert update.version == first.version and update.checkpoint.endswith(".pt")
    again = train_now()                                    # nothing new since
    assert again.success and again.version == first.version
    assert again.message == "nothing new to train on"
    _fill_store(tmp_path / "store", 2, start=100)          # new examples: a new version
    third = train_now()
    assert third.success and third.version == first.version + 1
