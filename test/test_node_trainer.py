"""The trainer node on a real master: ~train_now trains on the pending examples at once,
announces the new checkpoint on model_updates, and says so when there is nothing new."""
from __future__ import annotations

import queue

import numpy as np
import pytest

pytestmark = pytest.mark.ros

OVERRIDES = ("{training.pretrain_steps: 2, training.update_every: 1000, training.steps_per_update: 2, "
             "training.batch_size: 4}")


def _fill_store(store_dir, count: int, start: int = 0):
    from seg_by_interaction.config import load_config
    from seg_by_interaction.data.store import DatasetStore
    from support.synthetic import blob_examples
    store = DatasetStore(store_dir, load_config())
    for k, ex in enumerate(blob_examples(np.random.default_rng(start), count)):
        store.add_example(ex.image, ex.pick_px, ex.mask, robot_id="robotT",
                          interaction_id=str(start + k), source="interaction")
    store.close()


def test_train_now_updates_and_announces(ros_node, launch, tmp_path):
    import rospy
    from seg_by_interaction.msg import ModelUpdate
    from support.ros_testing import wait_for_service
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


def test_ctrl_c_mid_update_stops_at_once_and_loses_nothing(ros_node, launch, tmp_path):
    """Ctrl-C used to wait for the update to finish (and roslaunch escalated to SIGKILL):
    now the trainer stops between two SGD steps, saves nothing half-done, and a restart
    trains on the same examples."""
    import signal
    import time
    import rospy
    from support.ros_testing import wait_for_service, wait_until
    from seg_by_interaction.srv import TrainNow
    from seg_by_interaction.training.online import list_checkpoints
    _fill_store(tmp_path / "store", 3)
    long = OVERRIDES.replace("training.steps_per_update: 2",
                             "training.steps_per_update: 100000, training.log_every: 5")
    proc = launch("rosrun", "seg_by_interaction", "trainer", "__ns:=/trainer_stop", "__name:=trainer",
                  f"_data_dir:={tmp_path}", f"_overrides:={long}", name="trainer")
    wait_for_service("/trainer_stop/trainer/train_now", timeout=120)
    metrics = tmp_path / "training_metrics.jsonl"
    seen = metrics.stat().st_size if metrics.exists() else 0
    proxy = rospy.ServiceProxy("/trainer_stop/trainer/train_now", TrainNow)
    import threading
    threading.Thread(target=lambda: _call_quietly(proxy), daemon=True).start()
    wait_until(lambda: metrics.exists() and metrics.stat().st_size > seen, 120,
               "the update's first logged steps")
    t0 = time.monotonic()
    proc.proc.send_signal(signal.SIGINT)
    proc.proc.wait(timeout=60)
    assert time.monotonic() - t0 < 10, "the trainer took more than 10 s to stop"
    assert list_checkpoints(tmp_path / "checkpoints") == []         # nothing half-done saved
    assert "Traceback" not in proc.log(), proc.log()[-3000:]


def _call_quietly(proxy):
    try:
        proxy()
    except Exception:       # the node goes away mid-call: expected here
        pass
