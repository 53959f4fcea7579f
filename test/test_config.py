"""Presets load into the typed sections, and values are checked at load: types, ranges,
choices, key names; configurations are read-only and changed copies are checked too."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from seg_by_interaction.config import (Config, ConfigError, config_dir, load_config,
                                       with_overrides)


@pytest.mark.parametrize("preset", sorted(p.stem for p in config_dir().glob("*.yaml")))
def test_every_preset_in_config_loads(preset):
    cfg = load_config(preset)
    assert isinstance(cfg, Config) and cfg.preset == preset
    assert Config.model_validate(cfg.model_dump()) == cfg       # what it dumps loads again


def _preset(tmp_path, text):
    path = tmp_path / "mine.yaml"
    path.write_text("base: default\n" + text)
    return path


@pytest.mark.parametrize("value", ['"sixteen"', "-4", "0", "16.5", "true", "null"])
def test_bad_batch_size_in_a_preset_fails_the_load_with_the_key(tmp_path, value):
    with pytest.raises(ConfigError, match=r"training\.batch_size: (expected an integer|must be >= 1)"):
        load_config(_preset(tmp_path, f"training:\n  batch_size: {value}\n"))


def test_bad_values_in_overrides_are_refused_with_their_keys():
    cases = {
        "inference.nms_iou": (1.5, r"inference\.nms_iou: must be <= 1(\.0)?, got 1\.5"),
        "rsl.iou_threshold": (0.0, r"rsl\.iou_threshold: must be > 0(\.0)?, got 0\.0"),
        "training.momentum": ("0.9", r"training\.momentum: expected a number, got '0\.9'"),
        "training.steps_per_update": (0, r"training\.steps_per_update: must be >= 1"),
        "model.window": (-96, r"model\.window: must be >= 16"),
        "model.pad_mode": ("mirror", r"model\.pad_mode: must be one of 'constant' or 'reflect'"),
        "loop.camera": (-1, r"loop\.camera"),
        "passive.push_length": ([0.3, 0.1], r"passive\.push_length: a range \[low, high\] needs low <= high"),
        "arena.backgrounds.photos": (1, r"arena\.backgrounds\.photos: expected true or false"),
        "arena.objects_per_scene": ([4, "x"], r"arena\.objects_per_scene\[1\]: expected an integer"),
        "evaluation.iou_thresholds": ([0.3, 1.2], r"evaluation\.iou_thresholds\[1\]: must be <= 1(\.0)?, got 1\.2"),
        "training.lr_steps": ([[0, 0.1], [10, -1.0]], r"training\.lr_steps: entry 1: the learning rate"),
        "device": (None, r"device: expected a string, got null"),
        "inference.refine": (3, r"inference\.refine: expected a mapping"),
    }
    for key, (value, message) in cases.items():
        with pytest.raises(ConfigError, match=message):
            load_config(overrides={key: value})
    with pytest.raises(ConfigError, match="arena.objects_per_scene"):   # and in a changed copy
        with_overrides(load_config(), {"arena.objects_per_scene": [8, 4]})


def test_a_configuration_is_read_only():
    cfg = load_config()
    with pytest.raises(ValidationError):
        cfg.training.batch_size = 4
    changed = with_overrides(cfg, {"training.batch_size": 4})
    assert changed.training.batch_size == 4 and cfg.training.batch_size == 16


def test_every_bad_value_is_listed_at_once(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(_preset(tmp_path, "training:\n  batch_size: 0\n  momentum: 2.0\n"))
    assert "training.batch_size" in str(err.value) and "training.momentum" in str(err.value)
    assert "mine.yaml" in str(err.value)


def test_what_presets_may_legitimately_set():
    # ints where floats are expected, and the exponent form YAML reads as a float
    cfg = load_config(overrides={"inference.min_object_px": 24, "training.grad_clip": 40,
                                 "training.lr_steps": [[0, 1.0e-3], [100, 1]]})
    assert cfg.inference.min_object_px == 24
    # null where the research sections allow it ("all")
    from sbi_research.config import load_config as load_research_config
    load_research_config(overrides={"study.budgets.cpu.eval_backgrounds": None,
                                    "study.budgets.tiny.eval_backgrounds": None})
    # an index where the default is the word 'random'
    assert load_config(overrides={"loop.camera": 2}).loop.camera == 2
    # a quoted or dot-less exponent is a string in YAML 1.1: refused with a hint
    with pytest.raises(ConfigError, match="write 1.0e-3"):
        load_config(overrides={"rsl.paper_step": "1e-3"})


def test_study_budget_overrides_are_validated(tmp_path):
    from sbi_research.config import load_config as load_research_config
    from sbi_research.study import run_study
    cfg = load_research_config(overrides={"study.budgets.tiny.overrides": {"training.batch_size": 0}})
    with pytest.raises(ConfigError, match=r"training\.batch_size: must be >= 1"):
        run_study(cfg, tmp_path / "study", budget="tiny", progress=False)
    assert not (tmp_path / "study").exists()


def test_unknown_keys_still_refused():
    with pytest.raises(ConfigError, match="unknown configuration key 'training.batch_sise'"):
        load_config(overrides={"training.batch_sise": 4})


def test_ablation_variant_overrides_are_validated():
    from sbi_research.ablation import variant_config
    cfg = load_config()
    assert variant_config(cfg, {"overrides": {"rsl.iou_threshold": 0.5}}, 3).rsl.iou_threshold == 0.5
    with pytest.raises(ConfigError, match=r"rsl\.iou_threshold: must be <= 1(\.0)?, got 1\.5"):
        variant_config(cfg, {"overrides": {"rsl.iou_threshold": 1.5}}, 3)


def test_a_preset_file_without_base_is_based_on_default(tmp_path):
    """A preset without `base:` used to give a bare KeyError: 'arena' in the nodes."""
    path = tmp_path / "mine.yaml"
    path.write_text("training:\n  batch_size: 4\n")
    cfg = load_config(str(path))
    assert cfg.training.batch_size == 4
    assert cfg.arena == load_config().arena
    path.write_text("training:\n  batch_sise: 4\n")
    with pytest.raises(ConfigError, match="training.batch_sise"):
        load_config(str(path))
