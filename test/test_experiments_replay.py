"""Replaying a run's training with another recipe: each update sees exactly the data the
reference's trainer had, versions line up, the bootstrap is reused only when it fits."""
import numpy as np
import pytest

from seg_by_interaction.config import load_config
from seg_by_interaction.data.store import DatasetStore
from seg_by_interaction.perception.checkpoint import read_checkpoint
from seg_by_interaction.training.online import checkpoint_path, list_checkpoints
from support.synthetic import blob_examples
from seg_by_interaction.training.trainer import Trainer

SMALL = {"model.trunk_width": 8, "model.window": 64, "model.mask_size": 16,
         "model.embedding_dim": 64, "model.score_hidden": 64, "model.reduce_channels": 32,
         "training.batch_size": 4, "training.steps_per_update": 2, "training.pretrain_steps": 2}


@pytest.fixture
def reference(tmp_path):
    """A finished run: a store (passive, then interactions) and checkpoints v1..v3 whose
    trainer had seen 0, 3 and 7 interaction examples."""
    cfg = load_config(overrides=SMALL)
    run = tmp_path / "run"
    store = DatasetStore(run / "store", cfg)
    exs = blob_examples(np.random.default_rng(0), 10, height=120, width=140, num_objects=2,
                        size_range=(30, 50))
    for i, ex in enumerate(exs[:3]):
        store.add_example(ex.image, ex.pick_px, ex.mask, robot_id="robot0",
                          interaction_id=f"p{i}", source="passive")
    for i, ex in enumerate(exs[3:]):
        store.add_example(ex.image, ex.pick_px, ex.mask, robot_id="robot0",
                          interaction_id=f"i{i}", source="interaction")
    store.close()
    trainer = Trainer(cfg)
    for version, seen in ((1, 0), (2, 3), (3, 7)):
        trainer.save(checkpoint_path(run / "checkpoints", version),
                     extra={"version": version, "examples_seen": seen, "interactions_seen": seen})
    return cfg, run


def _extra(path):
    return read_checkpoint(path)["state"]["extra"]


def test_replay_follows_the_reference_history_and_resumes(reference, tmp_path):
    from sbi_research.replay import replay_training
    cfg, run = reference
    variant = load_config(overrides={**SMALL, "training.ema.enabled": True})
    out = replay_training(variant, run, tmp_path / "replay")
    found = list_checkpoints(out / "checkpoints")
    assert [v for v, _ in found] == [1, 2, 3]
    assert [_extra(p)["examples_seen"] for _, p in found] == [0, 3, 7]
    assert [read_checkpoint(p)["state"]["step"] for _, p in found] == [0, 2, 4]
    # same architecture: the reference's v1 is the bootstrap, byte for byte
    assert (out / "checkpoints" / "model_v00001.pt").read_bytes() == \
        (run / "checkpoints" / "model_v00001.pt").read_bytes()
    before = {p.name: p.stat().st_mtime_ns for _, p in found}
    replay_training(variant, run, tmp_path / "replay")            # nothing left to do
    assert {p.name: p.stat().st_mtime_ns for _, p in list_checkpoints(out / "checkpoints")} == before


def test_replay_pretrains_anew_for_another_architecture(reference, tmp_path):
    from sbi_research.replay import replay_training
    cfg, run = reference
    wider = load_config(overrides={**SMALL, "model.trunk_width": 16})
    out = replay_training(wider, run, tmp_path / "wide")
    v1 = list_checkpoints(out / "checkpoints")[0][1]
    assert read_checkpoint(v1)["model_cfg"]["trunk_width"] == 16
    assert read_checkpoint(v1)["state"]["step"] == 2                # pre-trained here


def test_replay_refuses_its_own_reference_and_an_empty_run(reference, tmp_path):
    from sbi_research.replay import replay_training
    cfg, run = reference
    with pytest.raises(ValueError, match="own folder"):
        replay_training(cfg, run, run)
    with pytest.raises(FileNotFoundError, match="no bootstrap"):
        replay_training(cfg, tmp_path / "nothing", tmp_path / "out")
