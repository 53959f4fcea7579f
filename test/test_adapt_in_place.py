"""Adapting in place: a run started from a model (init:=FILE), and a user's environment (a
folder of objects and surfaces) as the only thing the arena shows."""
from __future__ import annotations

import os
import re

import cv2
import numpy as np
import pytest

from seg_by_interaction.config import load_config

SMALL = {"model.trunk_width": 8, "model.window": 64, "model.mask_size": 16,
         "model.embedding_dim": 64, "model.score_hidden": 64, "model.reduce_channels": 32}


def test_init_becomes_model_v1_once_and_a_foreign_network_is_refused(tmp_path):
    from seg_by_interaction.perception.checkpoint import read_checkpoint
    from seg_by_interaction.ros.preflight import PreflightError, preflight
    from seg_by_interaction.training.online import OnlineTrainer, list_checkpoints
    from seg_by_interaction.training.trainer import Trainer
    cfg = load_config(overrides=SMALL)
    source = Trainer(cfg)
    source.step = 4321
    source.save(tmp_path / "trained.pt", extra={"version": 12})
    preset = tmp_path / "small.yaml"
    preset.write_text("model: {trunk_width: 8, window: 64, mask_size: 16, embedding_dim: 64, "
                      "score_hidden: 64, reduce_channels: 32}\n")
    run = tmp_path / "run"
    out = preflight(str(preset), str(run), "10", init=str(tmp_path / "trained.pt"))
    assert "init" in out and [v for v, _ in list_checkpoints(run / "checkpoints")] == [1]
    v1 = read_checkpoint(run / "checkpoints" / "model_v00001.pt")
    assert v1["state"]["step"] == 4321 and v1["state"]["extra"]["examples_seen"] == 0
    served = source.served_model.state_dict()
    assert all(np.array_equal(v1["model"][k].numpy(), served[k].numpy()) for k in served)
    online = OnlineTrainer(cfg, run)                       # the trainer resumes from it
    assert online.version == 1 and online.trainer.step == 4321 and online.pretrain() is None
    online.close()
    assert "already has models" in preflight(str(preset), str(run), "10", init=str(tmp_path / "trained.pt"))
    wide = load_config(overrides={**SMALL, "model.trunk_width": 16})
    Trainer(wide).save(tmp_path / "wide.pt")
    with pytest.raises(PreflightError, match="trunk_width"):
        preflight(str(preset), str(tmp_path / "run2"), "10", init=str(tmp_path / "wide.pt"))
    with pytest.raises(PreflightError, match="no such file"):
        preflight(str(preset), str(tmp_path / "run3"), "10", init=str(tmp_path / "nope.pt"))
    assert not list_checkpoints(tmp_path / "run2" / "checkpoints")


def _cube_obj(path, s=0.03):
    v = [(x, y, z) for x in (-s, s) for y in (-s, s) for z in (0, 2 * s)]
    faces = [(1, 3, 4, 2), (5, 6, 8, 7), (1, 2, 6, 5), (3, 7, 8, 4), (1, 5, 7, 3), (2, 4, 8, 6)]
    path.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in v) +
                    "".join("f " + " ".join(map(str, f)) + "\n" for f in faces))


def test_an_environment_folder_is_all_the_arena_shows(tmp_path):
    from seg_by_interaction.environment import environment_preset, write_environment_preset
    from seg_by_interaction.sim.arena import Arena
    env = tmp_path / "kitchen"
    with pytest.raises(ValueError, match="objects"):
        environment_preset(env)
    (env / "objects").mkdir(parents=True)
    (env / "surfaces").mkdir()
    for k in range(2):
        _cube_obj(env / "objects" / f"box{k}.obj", 0.02 + 0.01 * k)
    with pytest.raises(ValueError, match="surfaces"):
        environment_preset(env)
    img = np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)
    cv2.imwrite(str(env / "surfaces" / "counter.png"), img)
    preset = write_environment_preset(env, tmp_path / "env.yaml")
    cfg = load_config(str(preset), overrides={"arena.render_processes": 1})
    with Arena(cfg, seed=0, split="train") as arena:
        assert {o.name for o in arena.objects.split("train")} == {"user:box0.obj", "user:box1.obj"}
        assert [b.name for b in arena.backgrounds.split("train")] == ["user:counter.png"]
        arena.set_background(None)
        arena.reset_scene(2)
        assert {arena.object_spec(k).name for k in arena.object_ids()} <= {"user:box0.obj", "user:box1.obj"}


def test_the_pybullet_table_environment_loads_in_the_arena(tmp_path):
    """The adaptation experiment's environment: its URDFs carry absolute mesh paths (the folder
    holds no meshes) and the arena shows only them."""
    from sbi_research.environments import OBJECT_SCALE, pybullet_table
    from seg_by_interaction.environment import write_environment_preset
    from seg_by_interaction.sim.arena import Arena
    env = pybullet_table(tmp_path / "table", random_models=1)
    urdfs = sorted(p.name for p in (env / "objects").iterdir())
    assert all(name.endswith(".urdf") for name in urdfs) and len(urdfs) == 8
    for path in (env / "objects").iterdir():
        for mesh in re.findall(r'filename="([^"]+)"', path.read_text()):
            assert mesh.startswith("/") and os.path.isfile(mesh), (path.name, mesh)
    preset = write_environment_preset(env, tmp_path / "env.yaml", object_scale=OBJECT_SCALE)
    cfg = load_config(str(preset), overrides={"arena.render_processes": 1})
    with Arena(cfg, seed=0, split="train") as arena:
        arena.reset_scene(3)
        assert {arena.object_spec(k).name for k in arena.object_ids()} <= {f"user:{n}" for n in urdfs}
