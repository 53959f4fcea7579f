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
    from seg_by_interaction.training.initial_model import started_from_model
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
    # at adapt.lr throughout, not the schedule's rate at step 4321
    assert online.trainer.learning_rate(online.trainer.step) == cfg.adapt.lr
    assert cfg.adapt.lr not in [lr for _, lr in cfg.training.lr_steps[:2]]
    online.close()
    assert started_from_model(run)
    assert "already has models" in preflight(str(preset), str(run), "10", init=str(tmp_path / "trained.pt"))
    wide = load_config(overrides={**SMALL, "model.trunk_width": 16})
    Trainer(wide).save(tmp_path / "wide.pt")
    with pytest.raises(PreflightError, match="trunk_width"):
        preflight(str(preset), str(tmp_path / "run2"), "10", init=str(tmp_path / "wide.pt"))
    with pytest.raises(PreflightError, match="no such file"):
        preflight(str(preset), str(tmp_path / "run3"), "10", init=str(tmp_path / "nope.pt"))
    assert not list_checkpoints(tmp_path / "run2" / "checkpoints")


def test_a_bootstrapped_run_does_not_count_as_adapting(tmp_path):
    from seg_by_interaction.training.initial_model import started_from_model
    from seg_by_interaction.training.trainer import Trainer
    assert not started_from_model(tmp_path)                  # no model at all
    (tmp_path / "checkpoints").mkdir()
    trainer = Trainer(load_config(overrides=SMALL))
    trainer.save(tmp_path / "checkpoints" / "model_v00001.pt", extra={"version": 1})
    assert not started_from_model(tmp_path)
    assert trainer.learning_rate(0) == trainer.tcfg.lr_steps[0][1]


def test_the_learning_rate_override_survives_a_resume(tmp_path):
    from seg_by_interaction.training.trainer import Trainer
    cfg = load_config(overrides=SMALL)
    trainer = Trainer(cfg)
    trainer.step, trainer.lr_override = 5000, 0.0007
    trainer.save(tmp_path / "a.pt")
    again = Trainer.resume(tmp_path / "a.pt", cfg)
    assert again.learning_rate(again.step) == 0.0007
    plain = Trainer(cfg)
    plain.step = 5000
    plain.save(tmp_path / "b.pt")
    assert Trainer.resume(tmp_path / "b.pt", cfg).lr_override is None


def _blob_image():
    img = np.full((120, 160, 3), 200, np.uint8)
    img[20:50, 20:60] = (200, 30, 30)                     # a red box
    img[70:100, 100:140] = (30, 30, 200)                  # a blue box
    return img


def test_missed_proposals_are_the_bottom_up_segments_no_hypothesis_covers():
    from seg_by_interaction.loop.exploration import MissedProposals
    from seg_by_interaction.types import Hypothesis
    cfg = load_config(overrides={"evaluation.bottom_up.min_area": 100})
    missed = MissedProposals(cfg)
    img = _blob_image()
    red = np.zeros(img.shape[:2], bool)
    red[20:50, 20:60] = True
    everything = missed(img, [])
    assert any(np.logical_and(p.mask, red).sum() > 0.7 * red.sum() for p in everything)
    left = missed(img, [Hypothesis(mask=red, score=0.9, box=(20, 20, 60, 50))])
    assert left and len(left) < len(everything)
    for p in left:                                        # none of them is the red box again
        inter = np.logical_and(p.mask, red).sum()
        assert inter / np.logical_or(p.mask, red).sum() <= cfg.adapt.explore_max_overlap
    blue = np.zeros(img.shape[:2], bool)
    blue[70:100, 100:140] = True
    assert any(np.logical_and(p.mask, blue).sum() > 0.7 * blue.sum() for p in left)


class _Steps:
    """Loop steps that plan a grasp at any hypothesis's centre and always place."""

    def __init__(self, hyps):
        self.hyps, self.planned = hyps, []

    def capture(self):
        from seg_by_interaction.types import Frames
        return Frames(images=[_blob_image()], stamp=0.0, cameras=[None])

    def segment(self, frames, camera):
        return list(self.hyps), 3

    def plan_grasp(self, hypothesis, frames, camera):
        from seg_by_interaction.loop.algorithm import PlannedGrasp
        from seg_by_interaction.types import Pose2D
        self.planned.append(hypothesis)
        ys, xs = np.nonzero(hypothesis.mask)
        return PlannedGrasp(u=xs.mean(), v=ys.mean(), angle=0.0, width_px=10.0,
                            pose=Pose2D(0.0, 0.0, 0.0), width_m=0.03)

    def pick_place(self, pick, place):
        from seg_by_interaction.robot.interface import OUTCOME_PLACED, PickPlaceOutcome
        return PickPlaceOutcome(OUTCOME_PLACED)

    def reset(self, sweep, new_background):
        pass


def test_an_adapting_loop_tries_what_the_model_missed_on_its_share_of_interactions():
    from seg_by_interaction.loop.algorithm import InteractionLoop
    from seg_by_interaction.types import Hypothesis
    cfg = load_config(overrides={"loop.camera": 0, "arena.num_cameras": 1})
    mask = np.zeros((120, 160), bool)
    mask[20:50, 20:60] = True
    model_hyp = Hypothesis(mask=mask, score=0.9, box=(20, 20, 60, 50))
    proposal = Hypothesis(mask=~mask, score=0.5, box=(0, 0, 160, 120))
    calls = []

    def missed(image, hyps):
        calls.append(len(hyps))
        return [proposal]

    loop = InteractionLoop(cfg, _Steps([model_hyp]), (-1, 1, -1, 1), seed=0,
                           explore_fraction=0.5, missed=missed)
    records = [loop.run_one() for _ in range(200)]
    explored = [r for r in records if r.meta["explored"]]
    assert 70 < len(explored) < 130 and len(calls) == len(explored)
    assert all(r.hypothesis is proposal and r.hypothesis_index == -1 for r in explored)
    assert all(r.hypothesis is model_hyp and r.hypothesis_index == 0
               for r in records if not r.meta["explored"])
    # not adapting: the model's hypotheses only, and no exploration draw from the loop's generator
    plain = InteractionLoop(cfg, _Steps([model_hyp]), (-1, 1, -1, 1), seed=0, missed=missed)
    calls.clear()
    assert not any(plain.run_one().meta["explored"] for _ in range(20)) and not calls
    with pytest.raises(ValueError, match="explore_fraction"):
        InteractionLoop(cfg, _Steps([]), (-1, 1, -1, 1), explore_fraction=1.5, missed=missed)


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
