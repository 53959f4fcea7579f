"""Killing nodes with SIGKILL mid-loop: they respawn, the loop finishes its budget, no
stored example is lost or duplicated, and the trainer resumes from its checkpoint."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import xmlrpc.client

import pytest

from test_loop_e2e import _examples, tiny_preset

pytestmark = [pytest.mark.ros, pytest.mark.slow]

INTERACTIONS = 8


def _pid(node: str, master_uri: str) -> int:
    import rosgraph
    uri = rosgraph.Master("/pytest", master_uri=master_uri).lookupNode(node)
    code, _, pid = xmlrpc.client.ServerProxy(uri).getPid("/pytest")
    return int(pid)


def _wait_counter(path, at_least: int, proc, timeout: float = 300.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.alive:
        try:
            if int(path.read_text()) >= at_least:
                return
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"counter never reached {at_least}:\n{proc.log()[-4000:]}")


def test_nodes_killed_mid_loop_recover_without_loss(ros_node, ros_master, tmp_path):
    from seg_by_interaction.ros.testing import ManagedProcess
    from seg_by_interaction.training.online import list_checkpoints
    preset = tiny_preset(tmp_path / "tiny.yaml")
    data = tmp_path / "data"
    counter = data / "robot0.next_interaction"
    proc = ManagedProcess(["roslaunch", "seg_by_interaction", "interaction_loop.launch",
                           f"interactions:={INTERACTIONS}", f"data_dir:={data}",
                           f"preset:={preset}", "output:=screen"],
                          ros_master.env, tmp_path / "launch.log")
    try:
        _wait_counter(counter, 2, proc)
        killed = {}
        for node in ("/labeler", "/robot0/segmenter"):
            killed[node] = _pid(node, ros_master.uri)
            os.kill(killed[node], signal.SIGKILL)
        _wait_counter(counter, 4, proc)
        from seg_by_interaction.ros.testing import wait_until
        wait_until(lambda: list_checkpoints(data / "checkpoints"), 300, "a first model")
        for node in ("/trainer", "/robot0/interaction_coordinator"):
            killed[node] = _pid(node, ros_master.uri)
            os.kill(killed[node], signal.SIGKILL)
        proc.proc.wait(timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the loop did not finish after the kills:\n{proc.log()[-5000:]}")
    finally:
        proc.stop()
    log = proc.log()
    assert proc.proc.returncode == 0, log[-5000:]
    for node in killed:   # each one died and came back (roslaunch's respawn)
        name = node.lstrip("/")
        assert f"[{name}-" in log and log.count(f"process[{name}-") >= 2, node
    assert int(counter.read_text()) == INTERACTIONS
    examples = _examples(data / "store")
    ids = sorted({int(k[1]) for k in examples if k[4] == "interaction"})
    assert ids == list(range(INTERACTIONS)), f"interactions lost: {ids}"
    versions = [v for v, _ in list_checkpoints(data / "checkpoints")]
    assert versions == list(range(1, len(versions) + 1))      # resumed, never restarted at 1
    assert "trainer ready at model v0" in log
    assert log.count("trainer ready at model v") >= 2
    import re
    resumed = [int(v) for v in re.findall(r"trainer ready at model v(\d+)", log)]
    assert resumed[0] == 0 and max(resumed[1:]) >= 1, resumed   # the restart loaded a model
