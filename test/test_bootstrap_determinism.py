"""The passive bootstrap is a function of its seed: the same pushes give the same examples in
the same order, and pre-training on them gives the same weights, bit for bit.

The README once read the bootstrap model's AP@0.3 as 29.1 in three runs and 30.6 in a later
one "for the same seed" and guessed at machine load. What load could change is tested here at
a small scale: shots rendered in forked children or in the process itself (the default
forks; a loaded machine makes children overrun ``render_timeout``, and their cameras are
rendered again in the parent), and pre-training in another process (fresh interpreter, other
memory layout, torch's RNG and thread settings applied again; torch seeds its global
generator at random in every process, so training that drew from it would differ here).

Measured at full scale when this was written: two ``experiments passive --pretrain`` runs of
the default preset (254 examples, 600 steps, one of them beside other jobs) give identical
stores and identical v1 weights, and that v1 scores AP@0.3 / 0.5 30.58 / 15.31 on the main
job's 50 test images - the later run's figures to the last digit; the evaluation is
repeatable too (three concurrent processes, identical hypotheses). The same bootstrap with
one initial weight moved by one ulp scores 29.28 / 16.29: 600 SGD steps turn a last-bit
difference into a point or two of AP, which is what 29.1 vs 30.6 looks like. The earlier
runs differed in something outside the seed and outside src/ (their source only differs
from the later run's in fork_map's PR_SET_PDEATHSIG) - their environment (fresh venvs with
unpinned numpy/scipy/scikit-image, the system OpenCV, the asset cache) or their host.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from seg_by_interaction.config import load_config

pytestmark = pytest.mark.slow

SMALL = {"passive.blocks": 1, "passive.pushes_per_block": 4, "training.pretrain_steps": 12}


def _collect(root, **overrides):
    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.labeling.passive import collect_passive
    from seg_by_interaction.sim.arena import Arena
    from seg_by_interaction.sim.robot import SimRobot
    cfg = load_config(overrides={**SMALL, **overrides})
    store = DatasetStore(root / "store", cfg)
    with Arena(cfg, seed=0, split="train") as arena:
        collect_passive(store, arena, SimRobot(arena), cfg, seed=0, progress=False)
        fallbacks = arena.render_fallbacks
    return store, fallbacks


def _examples(store):
    """Every passive example in the order the trainer indexes them (store id order)."""
    out = []
    for ex in store.source(sources=["passive"]):
        out.append(((ex.meta["interaction_id"], ex.meta["camera"], ex.meta["pair"]),
                    ex.image, ex.mask, ex.pick_px))
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The default way: half of each shot's cameras rendered in a forked child."""
    root = tmp_path_factory.mktemp("bootstrap_a")
    store, fallbacks = _collect(root)
    assert fallbacks == 0
    yield root, _examples(store)
    store.close()


def _assert_same_examples(got, want):
    assert [k for k, *_ in got] == [k for k, *_ in want]          # same keys, same order
    for (key, image, mask, pick), (_, image0, mask0, pick0) in zip(got, want):
        assert np.array_equal(image, image0), key
        assert np.array_equal(mask, mask0), key
        assert pick == pick0, key


def test_two_collections_give_the_same_examples_however_the_shots_are_rendered(reference, tmp_path):
    _, want = reference
    assert len(want) >= 5
    in_process, fallbacks = _collect(tmp_path / "in_process", **{"arena.render_processes": 1})
    assert fallbacks == 0
    _assert_same_examples(_examples(in_process), want)
    in_process.close()
    # every forked share overruns its deadline and is rendered again here (a loaded machine)
    redone, fallbacks = _collect(tmp_path / "redone", **{"arena.render_timeout": 1e-9})
    assert fallbacks > 0
    _assert_same_examples(_examples(redone), want)
    redone.close()


_PRETRAIN = """
import json, sys
from seg_by_interaction.config import load_config
from seg_by_interaction.runtime import apply_runtime
from seg_by_interaction.training.online import OnlineTrainer
cfg = load_config(overrides=json.loads(sys.argv[2]))
apply_runtime(cfg)
online = OnlineTrainer(cfg, sys.argv[1])
info = online.pretrain()
online.close()
print(info.checkpoint)
"""


def _pretrain_here(data_dir, overrides):
    from seg_by_interaction.training.online import OnlineTrainer
    online = OnlineTrainer(load_config(overrides=overrides), data_dir)
    try:
        return online.pretrain().checkpoint
    finally:
        online.close()


def _state(path):
    from seg_by_interaction.perception.checkpoint import read_checkpoint
    return read_checkpoint(path)


def _differing(a: dict, b: dict) -> list[str]:
    return [k for k in a if not torch.equal(a[k], b[k])] + sorted(set(a) ^ set(b))


@pytest.fixture(scope="module")
def pretrained(reference, tmp_path_factory):
    """Checkpoint contents of three pre-trainings on copies of the reference store: here,
    in a fresh process, and here with another seed."""
    root, _ = reference
    tmp = tmp_path_factory.mktemp("pretrain")
    for name in ("here", "other_process", "seed1"):
        shutil.copytree(root / "store", tmp / name / "store")
    here = _pretrain_here(tmp / "here", SMALL)
    out = subprocess.run([sys.executable, "-c", _PRETRAIN, str(tmp / "other_process"),
                          json.dumps(SMALL)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    other = out.stdout.strip().splitlines()[-1]
    seed1 = _pretrain_here(tmp / "seed1", {**SMALL, "seed": 1})
    return {"here": _state(here), "other_process": _state(other), "seed1": _state(seed1)}


def test_two_pretrainings_on_the_same_passive_set_give_the_same_model(pretrained):
    a, b = pretrained["here"], pretrained["other_process"]
    assert a["state"]["step"] == b["state"]["step"] == SMALL["training.pretrain_steps"]
    assert _differing(a["model"], b["model"]) == []
    # what resuming reads must match too: momentum buffers and the windows' random state
    opt_a, opt_b = a["optimizer"]["state"], b["optimizer"]["state"]
    assert opt_a.keys() == opt_b.keys() and opt_a
    assert all(torch.equal(opt_a[k]["momentum_buffer"], opt_b[k]["momentum_buffer"]) for k in opt_a)
    assert a["state"]["numpy_rng"] == b["state"]["numpy_rng"]
    # the comparison can tell models apart: another seed trains another model
    assert _differing(a["model"], pretrained["seed1"]["model"])


def test_checkpoints_of_the_same_seed_are_the_same_state(pretrained):
    """Checkpoints hold no process-random state: torch's global generator (seeded at random in
    every process, and drawn from by nothing in training) is not saved."""
    a, b = pretrained["here"], pretrained["other_process"]
    assert "torch_rng" not in a["state"] and a["state"].keys() == b["state"].keys()
