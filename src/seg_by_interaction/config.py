"""Presets live in config/*.yaml; this module finds, merges and validates them.

A preset file may name a ``base`` preset: its keys are deep-merged over the base's,
so ``paper.yaml`` only lists what differs from ``default.yaml``. Overrides given in
code or on the command line must name keys that exist: a typo is an error, not a
silently ignored setting.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Mapping

import yaml

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


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
    candidate = CONFIG_DIR / f"{name}.yaml"
    if not candidate.is_file():
        known = sorted(q.stem for q in CONFIG_DIR.glob("*.yaml"))
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
    """The merged configuration of ``preset`` with ``overrides`` applied.

    ``overrides`` may be nested ({"training": {"lr": 0.01}}) or dotted
    ({"training.lr": 0.01}).
    """
    path = preset_path(preset)
    data = _read(path)
    base_name = data.pop("base", None)
    if base_name is not None:
        base = load_config(base_name)
        data = _deep_merge(base, data, strict=True)
    data["preset"] = path.stem if path.parent == CONFIG_DIR else str(path)
    if overrides:
        data = _deep_merge(data, expand_dotted(overrides), strict=True)
    return data


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
