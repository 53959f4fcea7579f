"""Every process a tool starts ends with it: benchmarks/loop.py stopped by SIGTERM (under
`timeout`) used to leave its roscore, rosmaster and rosout running for good."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seg_by_interaction.processes import process_command

pytestmark = pytest.mark.ros

TOOL = """
import sys, tempfile, time
from pathlib import Path
from support.ros_testing import RosMaster, exit_on_sigterm
if sys.argv[1] == "handled":
    exit_on_sigterm()
master = RosMaster(Path(tempfile.mkdtemp()))
try:
    print(master.port, flush=True)
    time.sleep(600)
finally:
    master.stop()
"""


def _ros_processes(port: int) -> list[int]:
    out = []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        cmd = process_command(pid)
        if str(port) in cmd and any(n in cmd for n in ("roscore", "rosmaster", "rosout")):
            out.append(pid)
    return out


@pytest.mark.parametrize("how", ["handled", "sigkill"])
def test_a_killed_tool_leaves_no_master_behind(how, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(          # test/support, as a benchmark has it
        filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])))
    tool = subprocess.Popen([sys.executable, "-c", TOOL, how], stdout=subprocess.PIPE, text=True, env=env)
    port = int(tool.stdout.readline())
    deadline = time.monotonic() + 30
    while not _ros_processes(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _ros_processes(port), "the tool's master did not start"
    tool.send_signal(signal.SIGTERM if how == "handled" else signal.SIGKILL)
    tool.wait(timeout=60)
    deadline = time.monotonic() + 30
    while _ros_processes(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _ros_processes(port)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, [process_command(p) for p in left]
