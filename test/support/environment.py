"""The package's ROS environment for subprocesses: workspace overlay, venv, loopback.

Tests and tools start roscore/roslaunch/rosbag as subprocesses; they need what
``source scripts/env.sh`` gives a shell. This reads it once from bash.
"""
from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from seg_by_interaction.processes import free_port

__all__ = ["REPO_ROOT", "ENV_SCRIPT", "free_port", "ros_environment"]

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_SCRIPT = REPO_ROOT / "scripts" / "env.sh"


@functools.lru_cache(maxsize=1)
def ros_environment() -> dict:
    """os.environ plus everything scripts/env.sh exports."""
    if not (REPO_ROOT / ".catkin_ws" / "devel" / "setup.bash").is_file():
        raise RuntimeError("the catkin workspace is not built: run scripts/setup.sh first")
    out = subprocess.run(["bash", "-c", f"source '{ENV_SCRIPT}' >/dev/null && env -0"],
                         check=True, capture_output=True).stdout
    env = {}
    for item in out.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            env[k.decode()] = v.decode()
    return env
