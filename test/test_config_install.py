"""Presets are found from an install space (``catkin_make install``), not only in the source tree."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seg_by_interaction.config import ConfigError, find_config_dir
from seg_by_interaction.config.presets import PACKAGE

REPO = Path(__file__).resolve().parents[1]


class FakeRosPack:
    def __init__(self, paths: dict):
        self.paths = paths

    def get_path(self, name):
        if name not in self.paths:
            raise LookupError(f"package {name} not found")
        return str(self.paths[name])


def _install_layout(tmp_path: Path) -> tuple[Path, Path]:
    """(installed config/presets.py, share/<pkg>) as catkin_make install lays them out."""
    module = tmp_path / "install/lib/python3/dist-packages" / PACKAGE / "config" / "presets.py"
    module.parent.mkdir(parents=True)
    module.write_text("")
    share = tmp_path / "install/share" / PACKAGE
    (share / "config").mkdir(parents=True)
    (share / "config" / "default.yaml").write_text("seed: 0\n")
    return module, share


def test_install_space_presets_come_from_the_ros_package_path(tmp_path):
    module, share = _install_layout(tmp_path)
    found = find_config_dir(module, rospack=FakeRosPack({PACKAGE: share}))
    assert found == share / "config"


def test_source_tree_presets_win(tmp_path):
    _, share = _install_layout(tmp_path)
    found = find_config_dir(REPO / "src" / PACKAGE / "config" / "presets.py",
                            rospack=FakeRosPack({PACKAGE: share}))
    assert found == REPO / "config"


def test_no_presets_anywhere_names_the_places_tried(tmp_path):
    module, _ = _install_layout(tmp_path)
    with pytest.raises(ConfigError, match="ROS package path.*not found"):
        find_config_dir(module, rospack=FakeRosPack({}))
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    with pytest.raises(ConfigError, match=str(empty / "config")):
        find_config_dir(module, rospack=FakeRosPack({PACKAGE: empty}))


@pytest.mark.slow
def test_preset_loads_from_a_catkin_install_space(tmp_path):
    """catkin_make install into a scratch workspace (~1 min on 2 cores), then load a preset
    through the installed Python package with the source tree off sys.path."""
    ws = tmp_path / "ws"
    pkg = ws / "src" / PACKAGE
    pkg.mkdir(parents=True)
    (ws / "src" / "CMakeLists.txt").symlink_to("/usr/share/catkin/cmake/toplevel.cmake")
    for entry in ("CMakeLists.txt", "package.xml", "setup.py", "src", "csrc", "msg", "srv", "action",
                  "nodes", "launch", "config", "models"):
        (pkg / entry).symlink_to(REPO / entry)
    install = tmp_path / "install"
    ros_setup = next(Path("/opt/ros").glob("*/setup.bash"), None)
    source_ros = f"source '{ros_setup}' && " if ros_setup else ""
    env = {"HOME": os.environ.get("HOME", str(tmp_path)),
           "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    build = subprocess.run(
        ["bash", "-c", f"{source_ros}cd '{ws}' && catkin_make install -DCMAKE_INSTALL_PREFIX='{install}'"],
        env=env, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    # the venv (dependencies) stays; the source tree and the devel space (which points into
    # it) leave sys.path before the package is imported
    source_paths = (str(REPO / "src"), str(REPO / ".catkin_ws"))
    probe = (f"import sys; sys.path[:] = [p for p in sys.path if not p.startswith({source_paths!r})]; "
             "import seg_by_interaction.config as c; "
             "cfg = c.load_config('paper'); print(c.__file__); print(c.config_dir()); print(cfg['preset'])")
    run = subprocess.run(
        ["bash", "-c", f"source '{install}/setup.bash' && cd '{tmp_path}' && "
                       f"'{sys.executable}' -c \"{probe}\""],
        env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    module, folder, preset = run.stdout.split()
    assert module.startswith(str(install)) and folder == str(install / "share" / PACKAGE / "config")
    assert preset == "paper"
