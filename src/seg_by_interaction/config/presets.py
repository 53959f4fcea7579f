"""Presets live in config/*.yaml; this module finds and merges them, and checks the result
against the typed sections (``schema.Config``).

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

A configuration is checked when it loads: a bad value fails the load with its key's name
(every bad key at once), not a node deep in training (a crash loop under respawn).
"""
from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from seg_by_interaction.config.schema import Config

PACKAGE = "seg_by_interaction"


def find_config_dir(module_file: str | os.PathLike = __file__, rospack=None) -> Path:
    """The folder holding the presets for the package this module was loaded from.

    1. The source tree: ``<repo>/config`` when the module is ``<repo>/src/<pkg>/config.py``
       (a checkout or the devel space, whose Python path points into the source tree;
       this module is ``<repo>/src/<pkg>/config/presets.py``).
       Checked first, so a checkout never reads another checkout's presets through
       ``ROS_PACKAGE_PATH``.
    2. The ROS package path: ``rospkg.RosPack().get_path(PACKAGE) + "/config"`` (an install
       space's ``share/<pkg>``). Without rospkg or a ROS environment this step is skipped.
    ``rospack``: a RosPack-like object (tests).
    """
    source = Path(module_file).resolve().parents[3] / "config"
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
                overrides: Mapping[str, Any] | None = None) -> Config:
    """The merged configuration of ``preset`` with ``overrides`` applied, checked.

    ``overrides`` may be nested ({"training": {"lr": 0.01}}) or dotted
    ({"training.lr": 0.01}).
    """
    path = preset_path(preset)
    data = load_preset_data(path)
    if overrides:
        data = _deep_merge(data, expand_dotted(overrides), strict=True)
    return validate(data, where=f"preset {data['preset']}" + (" with overrides" if overrides else ""))


def preset_overrides(name: str | os.PathLike) -> dict:
    """What a preset file itself sets over its base, as dotted overrides (a benchmark runs the
    same launch with ``procedural``'s arena this way)."""
    data = _read(preset_path(name))
    data.pop("base", None)

    def flat(node: Mapping, prefix: str = "") -> dict:
        out: dict = {}
        for key, value in node.items():
            if isinstance(value, Mapping):
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = value
        return out
    return flat(data)


def load_preset_data(path: Path) -> dict:
    """The preset file's values merged over its base presets, as plain data (not checked)."""
    data = _load_merged(path)
    data["preset"] = path.stem if path.parent == config_dir() else str(path)
    return data


def validate(data: Mapping, where: str = "configuration", model: type = Config):
    """``model`` (a Config) of ``data``, or ConfigError listing every bad value by its key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(e) for e in exc.errors()]
        raise ConfigError(f"{where}: invalid value{'s' if len(problems) > 1 else ''}: "
                          + "; ".join(problems)) from None


def _key(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(error: dict) -> str:
    """One pydantic error as 'key: what is wrong, got value'."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    key = _key(tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p)))
    got = f", got {value!r}" if kind != "missing" else ""
    if kind == "extra_forbidden":
        return f"unknown configuration key '{key}'"
    if kind == "missing":
        return f"{key}: missing"
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"{key}: must be {bounds[kind]} {limit}{got}"
    if kind in ("float_type", "int_type", "bool_type", "string_type", "list_type", "dict_type",
                "model_type", "int_from_float", "tuple_type", "float_parsing", "int_parsing"):
        want = {"float": "a number", "int": "an integer", "bool": "true or false", "string": "a string",
                "list": "a list", "tuple": "a list", "dict": "a mapping", "model": "a mapping"}
        word = next((w for k, w in want.items() if kind.startswith(k)), "another type")
        hint = ""
        if isinstance(value, str) and word in ("a number", "an integer"):
            try:
                float(value)
                hint = " (a number in quotes, or YAML reading 1e-3 as a string: write 1.0e-3)"
            except ValueError:
                pass
        shown = "null" if value is None else f"{value!r}"
        return f"{key}: expected {word}, got {shown}{hint}"
    if kind == "literal_error":
        return f"{key}: must be one of {ctx.get('expected')}{got}"
    if kind in ("too_short", "too_long"):
        return f"{key}: {error['msg'].lower()}{got}"
    if kind == "value_error":
        return f"{key}: {error['msg'].removeprefix('Value error, ')}"
    return f"{key}: {error['msg']}{got}"


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


def with_overrides(cfg, overrides: Mapping[str, Any], where: str = "overrides"):
    """A copy of a loaded configuration (of the same model) with ``overrides`` (dotted or
    nested) applied and checked; unknown keys are an error."""
    data = _deep_merge(cfg.model_dump(), expand_dotted(overrides), strict=True)
    return validate(data, where=where, model=type(cfg))


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
