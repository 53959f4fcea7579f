"""Bad launch arguments end the launch before any node starts, with one message and a
non-zero exit (they used to crash-loop every node forever); a second loop on the same
data_dir or the same master is refused before its nodes can fight the first one's."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from test_loop_e2e import tiny_preset

pytestmark = pytest.mark.ros


def _launch(env, *args, timeout=120):
    return subprocess.run(["roslaunch", "seg_by_interaction", "interaction_loop.launch", *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args, message", [
    (["preset:=nonexistent"], "unknown preset 'nonexistent'"),
    (["interactions:=-5"], "interactions:=-5 is negative"),
    (["interactions:=five"], "is not a whole number"),
    (["data_dir:=/proc/x"], "data_dir:=/proc/x cannot hold the run"),
])
def test_bad_arguments_end_the_launch_before_any_node(ros_master, tmp_path, args, message):
    args = [f"data_dir:={tmp_path / 'run'}"] + args
    t0 = time.monotonic()
    out = _launch(ros_master.env, *args)
    text = out.stdout + out.stderr
    assert out.returncode != 0, text
    assert "cannot start: " in text and message in text, text
    assert "process[" not in text, text                 # no node was started
    assert time.monotonic() - t0 < 60


def test_a_preset_file_with_wrong_types_names_the_key(ros_master, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  batch_size: foo\n")
    out = _launch(ros_master.env, f"preset:={bad}", f"data_dir:={tmp_path / 'run'}")
    assert out.returncode != 0
    assert "training.batch_size: expected an integer, got 'foo'" in out.stderr + out.stdout


def test_the_run_lock_refuses_a_live_owner_and_takes_over_a_dead_ones(tmp_path):
    from seg_by_interaction.data.run_lock import RunLockHeld, claim, holder
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        claim(tmp_path, owner.pid, claimant_pid=owner.pid)
        assert holder(tmp_path)["pid"] == owner.pid
        with pytest.raises(RunLockHeld, match=f"in use by another run \\(pid {owner.pid}"):
            claim(tmp_path, os.getpid())
        child = subprocess.run(      # a process of the owner's family may claim (run_loop.sh -> roslaunch)
            [sys.executable, "-c", "import os, sys; from seg_by_interaction.data.run_lock import "
             "claim; print(claim(sys.argv[1], os.getpid())['pid'])", str(tmp_path)],
            capture_output=True, text=True)
        assert child.returncode != 0                      # this test's children are not the owner's
    finally:
        owner.kill()
        owner.wait()
    assert holder(tmp_path) is None                       # stale: the owner is gone
    assert claim(tmp_path, os.getpid())["pid"] == os.getpid()
    assert claim(tmp_path, os.getpid())["pid"] == os.getpid()   # claiming again is fine


def test_the_owners_descendants_may_claim(tmp_path):
    """run_loop.sh owns the run folder; the roslaunch it starts (a descendant) claims it too."""
    code = ("import os, subprocess, sys; from seg_by_interaction.data.run_lock import claim; "
            "claim(sys.argv[1], os.getpid()); "
            "r = subprocess.run([sys.executable, '-c', 'import os, sys; from seg_by_interaction.data."
            "run_lock import claim; print(claim(sys.argv[1], os.getpid())[\"pid\"])', sys.argv[1]], "
            "capture_output=True, text=True); print(os.getpid(), r.stdout.strip(), r.returncode)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    parent, kept, rc = out.stdout.split()
    assert rc == "0" and kept == parent, out.stdout + out.stderr   # the owner's record is kept


@pytest.mark.slow
def test_a_second_loop_is_refused_before_its_nodes_start(ros_master, tmp_path):
    from support.ros_testing import ManagedProcess, wait_until
    import rosgraph
    preset = tiny_preset(tmp_path / "tiny.yaml")
    run = tmp_path / "run"
    first = ManagedProcess(["roslaunch", "seg_by_interaction", "interaction_loop.launch",
                            "interactions:=0", f"data_dir:={run}", f"preset:={preset}", "train:=false"],
                           ros_master.env, tmp_path / "first.log")
    try:
        master = rosgraph.Master("/pytest", master_uri=ros_master.uri)

        def labeller_up():
            """The first launch's own labeller answers (not a stale /labeler registration
            an earlier test's launch left on the session's master)."""
            import xmlrpc.client
            from seg_by_interaction.processes import ancestors
            try:
                _, _, pid = xmlrpc.client.ServerProxy(master.lookupNode("/labeler")).getPid("/t")
            except Exception:
                return False
            return first.proc.pid in ancestors(int(pid))
        wait_until(labeller_up, 120, "the first loop's labeller")
        for data_dir in (run, tmp_path / "other"):        # same folder / same master
            out = _launch(ros_master.env, "robot_id:=robot1", f"data_dir:={data_dir}",
                          f"preset:={preset}")
            text = out.stdout + out.stderr
            assert out.returncode != 0 and "cannot start: a loop is already running on this master" \
                in text, text
            assert "process[" not in text
        # on a master of its own, the same folder is still refused (the lock)
        from support.environment import free_port
        port = free_port()
        other = dict(ros_master.env, ROS_MASTER_URI=f"http://127.0.0.1:{port}")
        out = subprocess.run(["roslaunch", "-p", str(port), "seg_by_interaction",
                              "interaction_loop.launch", "robot_id:=robot1", f"data_dir:={run}",
                              f"preset:={preset}"], env=other, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode != 0 and f"{run} is in use by another run" in out.stderr + out.stdout
        assert first.alive
        assert "process[labeler-" in first.log() and first.log().count("process[labeler-") == 1
    finally:
        first.stop()
