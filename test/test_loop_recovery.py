"""Killing nodes with SIGKILL mid-loop (the world, the pick/place server, the labeller, the
segmenter, then the trainer, the coordinator and camera_capture): they respawn, the loop finishes its budget,
the store equals an offline relabelling of every record the loop published (nothing lost,
nothing duplicated, nothing different), and the trainer resumes from its checkpoint."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import xmlrpc.client

import pytest

from test_loop_e2e import _examples, tiny_preset

# every wait below draws on one budget (BUDGET_S), under the per-test cap
BUDGET_S = 1500
pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.timeout(BUDGET_S + 300)]

INTERACTIONS = 8


def _pid(node: str, master_uri: str) -> int:
    import rosgraph
    uri = rosgraph.Master("/pytest", master_uri=master_uri).lookupNode(node)
    code, _, pid = xmlrpc.client.ServerProxy(uri).getPid("/pytest")
    return int(pid)


_DEADLINE = [0.0]


def _left() -> float:
    """Seconds left of the test's budget."""
    return max(1.0, _DEADLINE[0] - time.monotonic())


def _wait_counter(path, at_least: int, proc):
    deadline = time.monotonic() + _left()
    while time.monotonic() < deadline and proc.alive:
        try:
            if int(path.read_text()) >= at_least:
                return
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"counter never reached {at_least}:\n{proc.log()[-4000:]}")


def test_nodes_killed_mid_loop_recover_without_loss(ros_node, ros_master, tmp_path):
    from support.ros_testing import ManagedProcess
    from seg_by_interaction.training.online import list_checkpoints
    _DEADLINE[0] = time.monotonic() + BUDGET_S
    preset = tiny_preset(tmp_path / "tiny.yaml")
    data = tmp_path / "data"
    counter = data / "robot0.next_interaction"
    bag = tmp_path / "records.bag"
    proc = ManagedProcess(["roslaunch", "seg_by_interaction", "interaction_loop.launch",
                           f"interactions:={INTERACTIONS}", f"data_dir:={data}",
                           f"preset:={preset}", "output:=screen", "record:=true", f"bag:={bag}"],
                          ros_master.env, tmp_path / "launch.log")
    try:
        _wait_counter(counter, 2, proc)
        killed = {}
        for node in ("/labeler", "/robot0/segmenter", "/robot0/sim_arena",
                     "/robot0/pick_place_server"):
            killed[node] = _pid(node, ros_master.uri)
            os.kill(killed[node], signal.SIGKILL)
        _wait_counter(counter, 4, proc)
        from support.ros_testing import wait_until
        wait_until(lambda: list_checkpoints(data / "checkpoints"), _left(), "a first model")
        for node in ("/trainer", "/robot0/interaction_coordinator", "/robot0/camera_capture"):
            killed[node] = _pid(node, ros_master.uri)
            os.kill(killed[node], signal.SIGKILL)
        proc.proc.wait(timeout=_left())
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
    # every record that went out (re-sends included) relabelled offline gives the same store
    out = subprocess.run(["rosrun", "seg_by_interaction", "labeler",
                          f"_bag:={tmp_path / 'records*.bag'}",
                          f"_data_dir:={tmp_path / 'offline'}", f"_preset:={preset}",
                          "__name:=offline_check"], env=ros_master.env, capture_output=True,
                         text=True, timeout=_left())
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    live = {k: v for k, v in examples.items() if k[4] == "interaction"}
    assert _examples(tmp_path / "offline" / "store") == live
    versions = [v for v, _ in list_checkpoints(data / "checkpoints")]
    assert versions == list(range(1, len(versions) + 1))      # resumed, never restarted at 1
    assert "trainer ready at model v0" in log
    assert log.count("trainer ready at model v") >= 2
    import re
    resumed = [int(v) for v in re.findall(r"trainer ready at model v(\d+)", log)]
    assert resumed[0] == 0 and max(resumed[1:]) >= 1, resumed   # the restart loaded a model
