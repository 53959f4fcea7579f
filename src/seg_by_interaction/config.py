"""Presets live in config/*.yaml; this module finds, merges and validates them.

A preset file may name a ``base`` preset: its keys are deep-merged over the base's,
so ``paper.yaml`` only lists what differs from ``default.yaml``. A file without ``base``
is based on ``default`` (it cannot list every key, and a missing section would fail far
from the file). Overrides given in
code or on the command line must name keys that exist: a typo is an error, not a
silently ignored setting.

Presets are found in the source tree when this module runs from it (config/ beside src/),
else in the ROS package's share directory (``rospkg``: ``catkin_make install`` puts
config/ there, while the Python package goes to lib/.../dist-packages), see
``find_config_dir``.

Values are validated when a configuration loads (``validate_config``): each must have
the type of its default in ``default.yaml`` (int, float (an int will do), bool, str,
list, mapping; null only where the default is null or ``NULLABLE`` allows it), and the
keys in ``RANGES`` must lie in their range. A bad value fails the load with its key's
name, not a node deep in training (a crash loop under respawn).
"""
from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any, Mapping

import yaml

PACKAGE = "seg_by_interaction"


def find_config_dir(module_file: str | os.PathLike = __file__, rospack=None) -> Path:
    """The folder holding the presets for the package this module was loaded from.

    1. The source tree: ``<repo>/config`` when the module is ``<repo>/src/<pkg>/config.py``
       (a checkout or the devel space, whose Python path points into the source tree).
       Checked first, so a checkout never reads another checkout's presets through
       ``ROS_PACKAGE_PATH``.
    2. The ROS package path: ``rospkg.RosPack().get_path(PACKAGE) + "/config"`` (an install
       space's ``share/<pkg>``). Without rospkg or a ROS environment this step is skipped.
    ``rospack``: a RosPack-like object (tests).
    """
    source = Path(module_file).resolve().parents[2] / "config"
    if (source / "default.yaml").is_file():
        return source
    tried = [str(source)]
    try:
        if rospack is None:
            import rospkg
            rospack = rospkg.RosPack()
        share = Path(rospack.get_path(PACKAGE)) / "config"
    except Exception as exc:              # no rospkg, no ROS_PACKAGE_PATH, package not on it
        tried.append(f"the ROS package path ({type(exc).__name__}: {exc})")
    else:
        if (share / "default.yaml").is_file():
            return share
        tried.append(str(share))
    raise ConfigError(f"no {PACKAGE} presets (config/default.yaml) found; looked in: "
                      + "; ".join(tried))


@functools.lru_cache(maxsize=1)
def config_dir() -> Path:
    """This package's preset folder (``find_config_dir``), looked up once, on first use: a
    missing ROS environment fails a load with the places tried, not every import."""
    return find_config_dir()


class ConfigError(ValueError):
    """A preset or override that cannot be used."""


# (low, high, low inclusive, high inclusive); None = unbounded on that side.
_AT_LEAST_1 = (1, None, True, True)
_NON_NEGATIVE = (0, None, True, True)
_POSITIVE = (0, None, False, True)
_UNIT = (0, 1, True, True)              # probabilities, fractions, thresholds
_UNIT_POSITIVE = (0, 1, False, True)    # IoU bounds, shares that must be above 0

# Ranges of the keys where a range matters. "a.*.b": any key at "*"; "a[]": each element.
RANGES: dict[str, tuple] = {
    "torch_threads": _NON_NEGATIVE,
    **{f"arena.{k}": _AT_LEAST_1 for k in (
        "image_width", "image_height", "num_cameras", "render_processes", "reset_every", "background_every",
        "solver_iterations", "objects_per_scene[]", "background_size", "min_background_px",
        "objects.texture_size", "eval_images_per_background.*")},
    **{f"arena.{k}": _POSITIVE for k in (
        "physics_hz", "render_timeout", "settle_speed", "table_size", "table_texture_metres", "cameras.near",
        "cameras.far", "cameras.vertical_fov_deg", "user_object_scale")},
    **{f"arena.{k}": _NON_NEGATIVE for k in (
        "settle_seconds", "settle_max_seconds", "drop_margin", "eval_min_area",
        "sensor.exposure_jitter", "sensor.read_noise", "sensor.shot_noise",
        "backgrounds.procedural", "objects.pybullet_data", "objects.procedural_per_family[]")},
    "arena.backgrounds.augment.variants": _AT_LEAST_1,
    "arena.objects.sizes.levels": (2, None, True, True),
    "arena.objects.sizes.fill": _UNIT_POSITIVE,
    "arena.objects.sizes.spacing": _NON_NEGATIVE,
    **{f"arena.cameras.vary.{k}[]": _POSITIVE for k in (
        "distance", "height", "vertical_fov_deg", "resolution_scale")},
    "arena.cameras.vary.yaw_jitter_deg": _NON_NEGATIVE,
    "arena.cameras.vary.look_at_jitter": _NON_NEGATIVE,
    "arena.assets.meshes.real_long_side[]": _POSITIVE,
    "arena.assets.meshes.mass_real[]": _POSITIVE,
    "arena.backgrounds.augment.crop[]": _UNIT_POSITIVE,
    **{f"robot.sim.{k}": _POSITIVE for k in ("jaw_open", "speed", "free_speed",
                                             "min_move_seconds", "close_seconds")},
    "robot.sim.sweep_points": _AT_LEAST_1,
    "robot.sawyer.sweep_points": _AT_LEAST_1,
    "robot.sawyer.move_timeout": _POSITIVE,
    "robot.sawyer.joint_speed": _UNIT_POSITIVE,
    **{f"labeling.{k}": _AT_LEAST_1 for k in ("window", "illumination_scale",
                                              "illumination_kernel_px")},
    **{f"labeling.{k}": _NON_NEGATIVE for k in (
        "min_pixels", "denoise_sigma", "log_offset", "open_px", "close_px", "pick_radius_px",
        "texture_sigma", "chroma_threshold", "luminance_threshold", "texture_threshold")},
    "labeling.saturation_level": (0, 255, True, True),
    "labeling.window_growth": _NON_NEGATIVE,
    "labeling.px_per_m_range[]": _POSITIVE,
    "labeling.hysteresis_low": _UNIT_POSITIVE,
    "labeling.quality_changed_iou": _UNIT,
    "labeling.quality_merge_fraction": _UNIT,
    "labeling.cross_view.min_views": (2, None, True, False),
    "labeling.cross_view.max_reach_ratio": (1, None, False, False),
    "labeling.cross_view.reach_percentile": (0, 100, False, True),
    "passive.blocks": _AT_LEAST_1,
    "passive.pushes_per_block": _AT_LEAST_1,
    "passive.push_length[]": _POSITIVE,
    "passive.min_pixels": _NON_NEGATIVE,
    "passive.max_area_fraction": _UNIT_POSITIVE,
    "passive.min_moved_fraction": _UNIT,
    "grasping.min_pixels": _NON_NEGATIVE,
    "grasping.max_width": _POSITIVE,
    **{f"model.{k}": _AT_LEAST_1 for k in (
        "trunk_width", "window", "mask_size", "reduce_channels", "embedding_dim",
        "score_hidden", "refine_head.skip_channels", "refine_head.channels",
        "refine_head.layers")},
    "model.pixel_std[]": _POSITIVE,
    "model.object_fraction": _UNIT_POSITIVE,
    "inference.min_object_px": _POSITIVE,
    "inference.max_object_fraction": _UNIT_POSITIVE,
    "inference.scale_step_log2": _POSITIVE,
    "inference.max_levels": _NON_NEGATIVE,
    "inference.pad_fraction": _NON_NEGATIVE,
    "inference.mask_top_k": _AT_LEAST_1,
    "inference.score_threshold": _UNIT,
    "inference.mask_threshold": _UNIT,
    "inference.nms_iou": _UNIT,
    "inference.min_mask_pixels": _NON_NEGATIVE,
    "inference.max_hypotheses": _AT_LEAST_1,
    "inference.max_image_pixels": _AT_LEAST_1,
    "inference.workers": _AT_LEAST_1,
    "inference.refine.felzenszwalb_scale": _POSITIVE,
    "inference.refine.felzenszwalb_sigma": _NON_NEGATIVE,
    "inference.refine.felzenszwalb_min_size": _NON_NEGATIVE,
    "inference.refine.min_coverage": _UNIT,
    "rsl.iou_threshold": _UNIT_POSITIVE,
    "rsl.paper_step": _POSITIVE,
    "rsl.paper_mask_size": _AT_LEAST_1,
    **{f"training.{k}": _AT_LEAST_1 for k in (
        "batch_size", "reference_window", "max_sampling_tries", "log_every", "update_every",
        "steps_per_update")},
    **{f"training.{k}": _NON_NEGATIVE for k in (
        "weight_decay", "mask_loss_weight", "score_loss_weight", "positive_shift_px",
        "positive_scale_log2", "negative_shift_px[]", "negative_scale_log2[]",
        "pretrain_steps", "replay.*")},
    **{f"training.{k}": _UNIT for k in (
        "momentum", "random_negative_fraction", "hard_negative_fraction",
        "shifted_negative_fraction")},
    "training.grad_clip": _POSITIVE,
    "training.ema.decay": _UNIT,
    "training.poll_hz": _POSITIVE,
    "store.busy_timeout_ms": _NON_NEGATIVE,
    "store.png_compression": (0, 9, True, True),
    "ros.viz_limit": _NON_NEGATIVE,
    "ros.record.jpeg_quality": (1, 100, True, True),
    "ros.record.min_free_mb": _NON_NEGATIVE,
    "loop.place_margin": _NON_NEGATIVE,
    "loop.step_timeout": _POSITIVE,
    "loop.drain_timeout": _NON_NEGATIVE,
    "loop.resend_after": _POSITIVE,
    "rearrangement.tolerance_px": _POSITIVE,
    "rearrangement.max_interactions": _AT_LEAST_1,
    "rearrangement.max_attempts_per_object": _AT_LEAST_1,
    "rearrangement.max_segments": _AT_LEAST_1,
    "rearrangement.min_score": _UNIT,
    "rearrangement.min_segment_pixels": _NON_NEGATIVE,
    "rearrangement.max_segment_fraction": _UNIT_POSITIVE,
    "rearrangement.timeout": _POSITIVE,
    "rearrangement.trunk.scale": _POSITIVE,
    "evaluation.iou_thresholds[]": _UNIT_POSITIVE,
    "evaluation.max_detections": _AT_LEAST_1,
    "evaluation.coco_max_dets[]": _AT_LEAST_1,
    "evaluation.recall_iou_threshold": _UNIT_POSITIVE,
    "evaluation.recall_precision_levels[]": _UNIT,
    "evaluation.bottom_up.nms_iou": _UNIT,
    "evaluation.bottom_up.max_proposals": _AT_LEAST_1,
    "evaluation.bottom_up.min_area": _NON_NEGATIVE,
    "evaluation.bottom_up.tuned.max_area_fraction": _UNIT_POSITIVE,
    "evaluation.report.jobs": _AT_LEAST_1,
    "evaluation.report.qualitative_rows": _AT_LEAST_1,
    "evaluation.report.qualitative_top_k": _AT_LEAST_1,
    "evaluation.report.qualitative_min_score": _UNIT,
}

# Keys that may be null although their default is not ("all"), and keys whose value
# may have another type than their default's.
NULLABLE: set[str] = set()
ALSO_ALLOWED = {"loop.camera": (int,)}


def _deep_merge(base: dict, update: Mapping, strict: bool, where: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in update.items():
        path = f"{where}.{key}" if where else str(key)
        if strict and key not in out:
            raise ConfigError(f"unknown configuration key '{path}'")
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value, strict, path)
        else:
            out[key] = copy.deepcopy(value)
    return out


def preset_path(name: str | os.PathLike) -> Path:
    """A preset name ('default', 'paper') or a path to a YAML file."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        return p
    candidate = config_dir() / f"{name}.yaml"
    if not candidate.is_file():
        known = sorted(q.stem for q in config_dir().glob("*.yaml"))
        raise ConfigError(f"unknown preset '{name}' (known: {', '.join(known)})")
    return candidate


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def load_config(preset: str | os.PathLike = "default",
                overrides: Mapping[str, Any] | None = None) -> dict:
    """The merged configuration of ``preset`` with ``overrides`` applied, validated.

    ``overrides`` may be nested ({"training": {"lr": 0.01}}) or dotted
    ({"training.lr": 0.01}).
    """
    path = preset_path(preset)
    data = _load_merged(path)
    data["preset"] = path.stem if path.parent == config_dir() else str(path)
    if overrides:
        data = _deep_merge(data, expand_dotted(overrides), strict=True)
    validate_config(data, where=f"preset {data['preset']}" + (" with overrides" if overrides else ""))
    return data


def _load_merged(path: Path, seen: tuple = ()) -> dict:
    if path.resolve() in seen:
        raise ConfigError(f"{path}: 'base' presets form a loop")
    data = _read(path)
    base_name = data.pop("base", None)
    if base_name is None and path.resolve() != (config_dir() / "default.yaml").resolve():
        base_name = "default"       # a preset lists what it changes; the rest comes from default
    if base_name is not None:
        base = _load_merged(preset_path(base_name), seen + (path.resolve(),))
        base.pop("preset", None)
        data = _deep_merge(base, data, strict=True)
    return data


def _defaults() -> dict:
    global _DEFAULTS
    if _DEFAULTS is None:
        _DEFAULTS = _read(config_dir() / "default.yaml")
    return copy.deepcopy(_DEFAULTS)


_DEFAULTS: dict | None = None


def _type_name(value) -> str:
    return "null" if value is None else type(value).__name__


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _wanted(default) -> tuple[type | tuple, str]:
    """(accepted types, description) for a value whose default is ``default``."""
    if isinstance(default, bool):
        return bool, "true or false"
    if isinstance(default, int):
        return int, "an integer"
    if isinstance(default, float):
        return (int, float), "a number"
    if isinstance(default, str):
        return str, "a string"
    if isinstance(default, list):
        return list, "a list"
    return Mapping, "a mapping"


def _type_problem(value, default) -> str | None:
    """Why ``value`` does not have ``default``'s type, or None."""
    types, want = _wanted(default)
    if isinstance(value, types) and (isinstance(default, bool) or not isinstance(value, bool)):
        return None
    hint = ""
    if isinstance(value, str) and _is_number(default):
        try:
            float(value)
            hint = " (a number in quotes, or YAML reading 1e-3 as a string: write 1.0e-3)"
        except ValueError:
            pass
    return f"expected {want}, got {value!r} ({_type_name(value)}){hint}"


def _matches(pattern: str, path: str) -> bool:
    p, q = pattern.split("."), path.split(".")
    return len(p) == len(q) and all(a == "*" or a == b for a, b in zip(p, q))


def _range_for(path: str):
    for pattern, rng in RANGES.items():
        if _matches(pattern, path):
            return rng
    return None


def _range_problem(value, rng) -> str | None:
    lo, hi, lo_in, hi_in = rng
    if not _is_number(value):
        return None
    if lo is not None and (value < lo or (value == lo and not lo_in)):
        ok = False
    elif hi is not None and (value > hi or (value == hi and not hi_in)):
        ok = False
    else:
        return None
    if hi is None:
        want = f"{'>=' if lo_in else '>'} {lo}"
    elif lo is None:
        want = f"{'<=' if hi_in else '<'} {hi}"
    else:
        want = f"in {'[' if lo_in else '('}{lo}, {hi}{']' if hi_in else ')'}"
    return f"must be {want}, got {value!r}"


def _allowed(path: str, table) -> Any:
    for pattern, v in (table.items() if isinstance(table, dict) else ((t, True) for t in table)):
        if _matches(pattern, path):
            return v
    return None


def _check_value(path: str, value, default, errors: list) -> None:
    if default is None:                         # null defaults: any value
        return
    if value is None:
        if not _allowed(path, NULLABLE):
            errors.append(f"{path}: expected {_wanted(default)[1]}, got null")
        return
    extra = _allowed(path, ALSO_ALLOWED)
    if extra and isinstance(value, extra) and not isinstance(value, bool):
        problem = None
    else:
        problem = _type_problem(value, default)
    if problem is not None:
        errors.append(f"{path}: {problem}")
        return
    if isinstance(default, dict):
        for key, sub in value.items():
            if key in default:
                _check_value(f"{path}.{key}", sub, default[key], errors)
        return
    if isinstance(default, list):
        kinds = {type(d) for d in default}
        for i, item in enumerate(value):
            if kinds == {int} and not (isinstance(item, int) and not isinstance(item, bool)):
                errors.append(f"{path}[{i}]: expected an integer, got {item!r}")
                continue
            if kinds and kinds <= {int, float} and not _is_number(item):
                errors.append(f"{path}[{i}]: expected a number, got {item!r}")
                continue
            if kinds == {str} and not isinstance(item, str):
                errors.append(f"{path}[{i}]: expected a string, got {item!r}")
                continue
            rng = _range_for(path + "[]")
            problem = _range_problem(item, rng) if rng else None
            if problem:
                errors.append(f"{path}[{i}]: {problem}")
        return
    rng = _range_for(path)
    problem = _range_problem(value, rng) if rng else None
    if problem:
        errors.append(f"{path}: {problem}")


def _check_lr_steps(value, errors: list) -> None:
    if not isinstance(value, list) or not value:
        return errors.append("training.lr_steps: expected a non-empty list of [from_step, lr]")
    last = -1
    for i, item in enumerate(value):
        if (not isinstance(item, list) or len(item) != 2
                or not (isinstance(item[0], int) and not isinstance(item[0], bool))
                or not _is_number(item[1])):
            errors.append(f"training.lr_steps[{i}]: expected [from_step (integer), lr (number)], "
                          f"got {item!r}")
            continue
        if item[0] <= last or item[0] < 0:
            errors.append(f"training.lr_steps[{i}]: steps must start at >= 0 and increase, "
                          f"got {item[0]} after {last}")
        if not item[1] > 0:
            errors.append(f"training.lr_steps[{i}]: the learning rate must be > 0, got {item[1]}")
        last = item[0]


def validate_config(cfg: Mapping, where: str = "configuration") -> None:
    """ConfigError listing every value whose type or range is wrong (see the module doc)."""
    defaults = _defaults()
    errors: list[str] = []
    for key, value in cfg.items():
        if key in defaults:
            _check_value(str(key), value, defaults[key], errors)
    if isinstance(cfg.get("training"), Mapping) and "lr_steps" in cfg["training"]:
        _check_lr_steps(cfg["training"]["lr_steps"], errors)
    if errors:
        raise ConfigError(f"{where}: invalid value{'s' if len(errors) > 1 else ''}: "
                          + "; ".join(errors))


def with_overrides(cfg: Mapping, overrides: Mapping[str, Any], where: str = "overrides") -> dict:
    """A copy of a loaded configuration with ``overrides`` (dotted or nested) applied and
    validated; unknown keys are an error."""
    out = _deep_merge(dict(cfg), expand_dotted(overrides), strict=True)
    validate_config(out, where=where)
    return out


def expand_dotted(overrides: Mapping[str, Any]) -> dict:
    """{"a.b": 1} -> {"a": {"b": 1}}; nested mappings pass through."""
    out: dict = {}
    for key, value in overrides.items():
        parts = str(key).split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if isinstance(value, Mapping):
            node[parts[-1]] = _deep_merge(node.get(parts[-1], {}), value, strict=False)
        else:
            node[parts[-1]] = value
    return out


def parse_override(text: str) -> tuple[str, Any]:
    """'training.lr=0.01' -> ('training.lr', 0.01); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' is not KEY=VALUE")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value)
