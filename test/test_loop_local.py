"""Algorithm 1 without ROS: the in-process loop over the real arena, labeller, store and
online trainer; the outbox that makes delivery to the labeller at-least-once."""
from __future__ import annotations

import pytest

from seg_by_interaction.config import load_config
from seg_by_interaction.loop.outbox import Outbox


def test_outbox_resends_until_receipted():
    box = Outbox(resend_after=5.0)
    box.sent(1, "a", now=0.0)
    box.sent(2, "b", now=3.0)
    assert box.due(4.0) == []
    assert box.due(5.0) == [(1, "a")]
    assert box.due(6.0) == []                    # its clock restarted at 5.0
    box.receipt(1)
    assert box.due(100.0) == [(2, "b")]
    box.receipt(2)
    box.receipt(7)                               # unknown receipts are ignored
    assert len(box) == 0


def test_outbox_on_disk_survives_a_restart(tmp_path):
    box = Outbox(10.0, tmp_path, encode=str.encode, decode=bytes.decode)
    box.sent(3, "three", now=0.0)
    box.sent(4, "four", now=0.0)
    box.receipt(3)
    (tmp_path / "000000009.rec.tmp").write_bytes(b"torn")   # a kill mid-write leaves this
    again = Outbox(10.0, tmp_path, encode=str.encode, decode=bytes.decode)
    assert again.restore(now=100.0) == 1
    assert again.due(100.0) == [(4, "four")]
    again.receipt(4)
    assert not list(tmp_path.glob("*.rec"))
    with pytest.raises(ValueError):
        Outbox(1.0, tmp_path)


def test_local_session_collects_labels_trains_and_resumes(tmp_path):
    from seg_by_interaction.data.store import DatasetStore
    from sbi_research.local_loop import run_session
    from seg_by_interaction.training.online import list_checkpoints
    cfg = load_config(overrides={
        "passive.blocks": 1, "passive.pushes_per_block": 4, "training.update_every": 6,
        "training.steps_per_update": 2, "training.pretrain_steps": 2, "training.batch_size": 4,
        "arena.reset_every": 2, "inference.max_levels": 2})
    updates = []
    stats = run_session(cfg, tmp_path, 4, seed=1, progress=False,
                        on_update=lambda v, n, ck: updates.append((v, n)))
    assert stats.interactions == 4
    store = DatasetStore(tmp_path / "store", cfg)
    assert store.count(sources=["interaction"]) == stats.examples > 0
    assert store.count_interactions(sources=["interaction"]) >= 3
    versions = [v for v, _ in list_checkpoints(tmp_path / "checkpoints")]
    assert versions == list(range(1, len(versions) + 1)) and versions
    assert [v for v, _ in updates] == versions
    # a second call continues the same run: ids go on, nothing is stored twice
    before = store.count()
    stats2 = run_session(cfg, tmp_path, 2, seed=1, progress=False)
    assert stats2.interactions == 6
    assert store.count() > before                       # the new interactions were stored
    keys = {(r["robot_id"], r["interaction_id"], r["camera"], r["pair"], r["source"])
            for r in (store.row(i) for i in store.ids())}
    assert len(keys) == store.count()


def test_online_trainer_pretrains_updates_on_schedule_and_resumes(tmp_path):
    import numpy as np
    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.training.online import OnlineTrainer
    from support.synthetic import add_blob_example
    cfg = load_config(overrides={"training.update_every": 4, "training.steps_per_update": 1,
                                 "training.pretrain_steps": 1, "training.batch_size": 2})
    rng = np.random.default_rng(0)
    store = DatasetStore(tmp_path / "store", cfg)

    def add(source, k):
        add_blob_example(store, rng, source, k)

    for k in range(3):
        add("passive", k)
    online = OnlineTrainer(cfg, tmp_path)
    assert online.pretrain().version == 1
    assert online.pretrain() is None                     # once only
    for k in range(3):
        add("interaction", k)
    assert online.pending() == 3 and online.maybe_update() is None
    add("interaction", 3)
    info = online.maybe_update()
    assert (info.version, info.examples_seen) == (2, 4)
    add("interaction", 4)
    assert online.maybe_update() is None
    assert online.maybe_update(force=True).version == 3
    online.close()
    resumed = OnlineTrainer(cfg, tmp_path)
    assert (resumed.version, resumed.examples_seen, resumed.pending()) == (3, 5, 0)
    assert resumed.pretrain() is None
    resumed.close()
    store.close()


def test_updates_replay_the_passive_bootstrap_in_the_configured_share(tmp_path):
    import numpy as np
    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.training.online import OnlineTrainer
    from support.synthetic import blob_scene
    rng = np.random.default_rng(0)
    for share, expected in ((0.0, 0.0), (0.3, 0.3)):
        cfg = load_config(overrides={"training.replay.passive": share,
                                     "training.replay.interaction": 1.0 - share})
        store = DatasetStore(tmp_path / f"s{share}" / "store", cfg)
        for source, n in (("passive", 40), ("interaction", 10)):
            for k in range(n):
                image, masks = blob_scene(rng, 60, 80, num_objects=1, size_range=(10, 20))
                store.add_example(image, (1.0, 1.0), masks[0], robot_id="r",
                                  interaction_id=f"{source}{k}", source=source)
        online = OnlineTrainer(cfg, tmp_path / f"s{share}")
        online._refresh_training_source()
        src = online.training_source
        drawn = [src[int(i)].source for i in rng.integers(0, len(src), 3000)]
        assert abs(np.mean([d == "passive" for d in drawn]) - expected) < 0.04
        # new interaction examples are seen by the next update's draws
        image, masks = blob_scene(rng, 60, 80, num_objects=1, size_range=(10, 20))
        store.add_example(image, (1.0, 1.0), masks[0], robot_id="r", interaction_id="late",
                          source="interaction")
        online._refresh_training_source()
        assert len(online.interaction_source) == 11
        online.close()
        store.close()
