"""`catkin_make run_tests` runs the pytest suite (scripts/catkin_pytest.sh), not nothing."""
from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = "run_tests_seg_by_interaction_pytest_suite"


def test_the_workspace_has_the_pytest_target():
    # scripts/setup.sh once configured with CATKIN_ENABLE_TESTING=OFF: no run_tests target at all
    assert "CATKIN_ENABLE_TESTING=OFF" not in (REPO / "scripts" / "setup.sh").read_text()
    targets = subprocess.run(["make", "-C", str(REPO / ".catkin_ws" / "build"), "help"],
                             capture_output=True, text=True, timeout=60).stdout
    assert TARGET in targets, "catkin_make run_tests would run nothing: rebuild with scripts/setup.sh"


def test_the_target_script_runs_pytest_and_writes_junit(tmp_path):
    results = tmp_path / "results" / "pytest-suite.xml"
    env = dict(os.environ, SBI_PYTEST_ARGS="test/test_docs_launch_files.py -q -p no:cacheprovider")
    run = subprocess.run(["bash", str(REPO / "scripts" / "catkin_pytest.sh"), str(results)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    suite = ET.parse(results).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert int(suite.get("tests")) == 1 and int(suite.get("failures")) == 0
