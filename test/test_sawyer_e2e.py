"""The Sawyer path end to end, as on the robot but with its hardware replaced by test
doubles: `interaction_loop.launch backend:=sawyer` runs camera_capture and
pick_place_server over the intera_interface double (test/doubles), its four camera streams
replayed from camera topics recorded from the simulated loop (`record_cameras:=true`,
replayed with live stamps by test/doubles/bag_cameras.py), and completes
several interactions - capture, segment, plan, pick (double), held shot, place,
Interaction record - with every target inside the Sawyer's workspace, never the arena's."""
from __future__ import annotations

import os
import queue
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# two loops of <= 600 s each in one test: the cap is above their sum
pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.timeout(1500)]

DOUBLES = Path(__file__).parent / "doubles"
INTERACTIONS = 3
BASE_OFFSET_X = 0.65        # the recorded table's centre, in the Sawyer's base frame


def _record_sim_cameras(ros_master, tmp: Path) -> tuple[Path, Path]:
    """A camera bag recorded from the simulated loop (`record:=true record_cameras:=true`),
    and a calibration mapping its views onto the Sawyer's base frame (the world's plane
    homographies, shifted to the workspace)."""
    from seg_by_interaction.cameras.calibration import save_calibration
    from seg_by_interaction.config import load_config
    from support.ros_testing import ManagedProcess
    from seg_by_interaction.sim.arena import Arena
    bag = tmp / "recorded" / "cameras.bag"
    rec = ManagedProcess(["roslaunch", "seg_by_interaction", "interaction_loop.launch",
                          "robot_id:=simrec", "interactions:=2", f"data_dir:={tmp / 'simdata'}",
                          "train:=false", "record:=true", "record_cameras:=true", f"cameras_bag:={bag}",
                          "seed:=5", "output:=screen"], ros_master.env, tmp / "record.log")
    try:
        rec.proc.wait(timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the recording loop did not finish:\n{rec.log()[-3000:]}")
    finally:
        rec.stop()
    assert bag.is_file(), rec.log()[-3000:]
    T = np.array([[1.0, 0, -BASE_OFFSET_X], [0, 1, 0], [0, 0, 1]])   # base -> arena
    with Arena(load_config(), seed=5) as arena:
        Hs = {k: np.linalg.inv(cam.H @ T) for k, cam in enumerate(arena.cameras)}   # pixel -> base
    calib = tmp / "calib.yaml"
    save_calibration(calib, Hs, 430, 350)
    return bag, calib


def test_sawyer_backend_runs_the_loop_inside_its_workspace(ros_master, ros_node, tmp_path):
    import rospy
    from seg_by_interaction.config import load_config
    from seg_by_interaction.msg import Interaction
    from seg_by_interaction.ros.conversions import msg_to_frames
    from support.ros_testing import ManagedProcess
    bag, calib = _record_sim_cameras(ros_master, tmp_path)
    xmin, xmax, ymin, ymax = load_config()["robot"]["sawyer"]["workspace"]
    records: queue.Queue = queue.Queue()
    sub = rospy.Subscriber("/interactions", Interaction, records.put, queue_size=20)
    env = dict(ros_master.env)
    env["PYTHONPATH"] = f"{DOUBLES}{os.pathsep}{env.get('PYTHONPATH', '')}"
    cams = ManagedProcess([sys.executable, str(DOUBLES / "bag_cameras.py"), str(bag), "/robot5"],
                          env, tmp_path / "cams.log")
    loop = ManagedProcess(["roslaunch", "seg_by_interaction", "interaction_loop.launch",
                           "backend:=sawyer", f"calibration:={calib}", "robot_id:=robot5",
                           f"interactions:={INTERACTIONS}", f"data_dir:={tmp_path / 'data'}",
                           "train:=false", "output:=screen"], env, tmp_path / "loop.log")
    try:
        loop.proc.wait(timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the Sawyer loop did not finish:\n{loop.log()[-5000:]}")
    finally:
        loop.stop()
        cams.stop()
        sub.unregister()
    log = loop.log()
    assert loop.proc.returncode == 0, log[-5000:]
    assert rospy.get_param("/robot5/robot_workspace") == [xmin, xmax, ymin, ymax]
    got = []
    while not records.empty():
        got.append(records.get())
    got = {m.interaction_id: m for m in got if m.robot_id == "robot5"}
    assert len(got) == INTERACTIONS, log[-5000:]
    for msg in got.values():
        for what, x, y in (("grasp", msg.grasp.x, msg.grasp.y), ("place", msg.place.x, msg.place.y)):
            assert xmin <= x <= xmax and ymin <= y <= ymax, (what, x, y)
        assert len(msg_to_frames(msg.held).images) == 4          # the held shot came through
        assert len(msg_to_frames(msg.before).images) == 4
    assert "unreachable" not in log
