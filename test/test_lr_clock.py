"""training.lr_clock: the learning-rate schedule read at optimiser steps or at the
interaction examples the online trainer has trained on (a schedule tied to the data)."""
import numpy as np
import pytest

from seg_by_interaction.config import ConfigError, load_config
from seg_by_interaction.training.online import OnlineTrainer
from seg_by_interaction.training.trainer import Trainer
from support.synthetic import add_blob_example

SCHEDULE = [[0, 0.02], [15, 0.01], [25, 0.002]]


def _online(tmp_path, clock):
    cfg = load_config(overrides={"training.lr_clock": clock, "training.lr_steps": SCHEDULE,
                                 "training.pretrain_steps": 2, "training.steps_per_update": 4,
                                 "training.batch_size": 2, "training.update_every": 10})
    online = OnlineTrainer(cfg, tmp_path)
    return cfg, online


def _updates(online, rng, batches, first=0):
    """The lr each update trained at, adding 10 interaction examples before each."""
    rates = []
    for k in range(first, first + batches):
        for j in range(10):
            add_blob_example(online.store, rng, "interaction", 10 * k + j)
        rates.append(online.maybe_update().metrics["lr"])
    return rates


def test_an_examples_clock_follows_the_data_not_the_steps(tmp_path):
    cfg, online = _online(tmp_path / "examples", "examples")
    rng = np.random.default_rng(0)
    for k in range(6):
        add_blob_example(online.store, rng, "passive", k)
    assert online.pretrain().metrics["lr"] == 0.02          # no interaction data yet
    # 10, 20, 30 examples: 0.02 until 15 examples, 0.01 until 25, then 0.002; 2 + 4 x 3 steps
    assert _updates(online, rng, 3) == [0.02, 0.01, 0.002]
    assert online.trainer.step == 14
    online.close()
    # resumed, the clock goes on from the checkpoint's examples, not from 0
    resumed = OnlineTrainer(cfg, tmp_path / "examples")
    assert resumed.trainer.examples_seen == 30 and resumed.trainer.learning_rate(0) == 0.002
    resumed.close()

    # the same data and schedule on the steps clock: steps 2-13 are all below 15
    _, steps = _online(tmp_path / "steps", "steps")
    rng = np.random.default_rng(0)
    for k in range(6):
        add_blob_example(steps.store, rng, "passive", k)
    steps.pretrain()
    assert _updates(steps, rng, 3) == [0.02, 0.02, 0.02]
    steps.close()


def test_a_trainer_on_a_fixed_set_keeps_the_first_rate_on_the_examples_clock():
    cfg = load_config(overrides={"training.lr_clock": "examples", "training.lr_steps": SCHEDULE})
    trainer = Trainer(cfg)
    assert [trainer.learning_rate(s) for s in (0, 20, 10_000)] == [0.02] * 3
    trainer.examples_seen = 20
    assert trainer.learning_rate(0) == 0.01


@pytest.mark.parametrize("bad", ["minutes", 3, None, ""])
def test_an_unknown_clock_is_refused_naming_the_key(bad):
    with pytest.raises(ConfigError, match="training.lr_clock"):
        load_config(overrides={"training.lr_clock": bad})
