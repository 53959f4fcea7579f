"""How every node gets its configuration: ``~preset`` (a name in config/ or a YAML path)
plus ``~overrides`` (a dict of dotted keys), resolved by seg_by_interaction.config."""
from __future__ import annotations

import rospy

from seg_by_interaction.config import ConfigError, load_config
from seg_by_interaction.runtime import apply_runtime


def node_config() -> dict:
    preset = rospy.get_param("~preset", "default")
    overrides = rospy.get_param("~overrides", {}) or {}
    if not isinstance(overrides, dict):
        raise ConfigError("~overrides must be a dict of configuration keys")
    device = rospy.get_param("~device", "")
    if device:
        overrides = dict(overrides, device=device)
    cfg = load_config(preset, overrides)
    apply_runtime(cfg)
    return cfg
