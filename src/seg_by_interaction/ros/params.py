"""How every node gets its configuration: ``~preset`` (a name in config/ or a YAML path)
plus ``~overrides`` (a dict of dotted keys), resolved by seg_by_interaction.config."""
from __future__ import annotations

import time

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


def robot_workspace(timeout: float) -> tuple[float, float, float, float]:
    """The robot's reachable rectangle: ``~workspace`` if given, else the ``robot_workspace``
    parameter that this robot's pick_place_server sets from its backend. Never the
    arena's: on a real robot that would refuse every random place."""
    value = rospy.get_param("~workspace", None)
    if value is None:
        deadline = time.monotonic() + float(timeout)
        while not rospy.has_param("robot_workspace") and time.monotonic() < deadline \
                and not rospy.is_shutdown():
            time.sleep(0.2)
        if not rospy.has_param("robot_workspace"):
            raise ConfigError(f"no {rospy.resolve_name('robot_workspace')} after {timeout:.0f} s: "
                              "the pick_place_server sets it from its robot backend")
        value = rospy.get_param("robot_workspace")
    try:
        ws = tuple(float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"workspace must be 4 numbers (xmin, xmax, ymin, ymax), got {value!r}") from exc
    if len(ws) != 4 or not (ws[0] < ws[1] and ws[2] < ws[3]):
        raise ConfigError(f"workspace must be (xmin, xmax, ymin, ymax) with min < max, got {value!r}")
    return ws
