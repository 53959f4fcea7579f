"""The Sawyer path end to end, as on the robot but with its hardware replaced by test
doubles: `interaction_loop.launch backend:=sawyer` runs camera_capture and
pick_place_server over the intera_interface double (test/doubles), its four camera streams
replayed from camera topics recorded from the simulated world (`record_bag` of
camN/image_raw, replayed with live stamps by test/doubles/bag_cameras.py), and completes
several interactions - capture, segment, plan, pick (double), held shot, place,
Interaction record - with every target inside the Sawyer's workspace, never the arena's."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DOUBLES = Path(__file__).parent / "doubles"
INTERACTIONS = 3
BASE_OFFSET_X = 0.65        # the recorded table's centre, in the Sawyer's base frame


def _record_sim_cameras(ros_master, tmp: Path) -> tuple[Path, Path]:
    """A camera bag from the simulated world, and a calibration mapping its views onto the
    Sawyer's base frame (the world's plane homographies, shifted to the workspace)."""
    import rospy
    from sensor_msgs.msg import CameraInfo
    from seg_by_interaction.cameras.calibration import save_calibration
    from seg_by_interaction.ros.conversions import msg_to_camera
    from seg_by_interaction.ros.testing import ManagedProcess, wait_for_service
    from seg_by_interaction.srv import CaptureFrames
    world = ManagedProcess(["roslaunch", "seg_by_interaction", "sim_arena.launch", "ns:=simrec",
                            "seed:=5"], ros_master.env, tmp / "world.log")
    bag = tmp / "cameras" / "cams.bag"
    topics = [f"/simrec/cam{k}/image_raw" for k in range(4)]
    rec = subprocess.Popen(["rosrun", "seg_by_interaction", "record_bag", "-O", str(bag), *topics,
                            "__name:=record_cams"], env=ros_master.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_service("/simrec/capture_frames", timeout=120)
        capture = rospy.ServiceProxy("/simrec/capture_frames", CaptureFrames)
        rospy.sleep(2.0)                                   # the recorder subscribes
        for _ in range(3):
            assert capture().success
        Hs = {}
        T = np.array([[1.0, 0, -BASE_OFFSET_X], [0, 1, 0], [0, 0, 1]])   # base -> arena
        for k in range(4):
            cam = msg_to_camera(rospy.wait_for_message(f"/simrec/cam{k}/camera_info", CameraInfo, 30))
            Hs[k] = np.linalg.inv(cam.H @ T)               # pixel -> base
        calib = tmp / "calib.yaml"
        save_calibration(calib, Hs, 430, 350)
        rospy.sleep(1.0)
    finally:
        rec.send_signal(signal.SIGINT)
        rec.wait(timeout=60)
        world.stop()
    return bag, calib


def test_sawyer_backend_runs_the_loop_inside_its_workspace(ros_master, ros_node, tmp_path):
    import rospy
    from seg_by_interaction.config import load_config
    from seg_by_interaction.msg import Interaction
    from seg_by_interaction.ros.conversions import msg_to_frames
    from seg_by_interaction.ros.testing import ManagedProcess
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
