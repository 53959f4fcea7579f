"""The Sawyer backend against the intera_interface test double (test/doubles), and
the pixel -> robot-base calibration tool."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from seg_by_interaction.config import load_config
from seg_by_interaction.robot.interface import (OUTCOME_INVALID_GOAL, OUTCOME_PLACED, OUTCOME_PREEMPTED,
                                                OUTCOME_ROBOT_ERROR, OUTCOME_UNREACHABLE)
from seg_by_interaction.types import Pose2D

DOUBLES = Path(__file__).parent / "doubles"


@pytest.fixture
def intera(monkeypatch):
    monkeypatch.syspath_prepend(str(DOUBLES))
    sys.modules.pop("intera_interface", None)
    import intera_interface
    intera_interface.LOG.clear()
    yield intera_interface
    sys.modules.pop("intera_interface", None)


@pytest.fixture
def robot(intera):
    from seg_by_interaction.robot.sawyer import SawyerRobot
    cfg = load_config()
    limb = intera.Limb("right")
    gripper = intera.Gripper("right_gripper", limb=limb)
    r = SawyerRobot(cfg, limb=limb, gripper=gripper, robot_enable=intera.RobotEnable())
    return r, limb, gripper, cfg["robot"]["sawyer"]


def test_intera_is_imported_only_when_the_backend_is_built(intera, monkeypatch):
    import importlib
    sys.modules.pop("intera_interface", None)
    mod = importlib.import_module("seg_by_interaction.robot.sawyer")
    assert "intera_interface" not in sys.modules
    r = mod.SawyerRobot(load_config())           # builds its own Limb/Gripper/RobotEnable
    assert "intera_interface" in sys.modules
    assert r.rs.state().enabled                  # enabled on construction, as in Rethink's demo


def test_missing_intera_gives_a_clear_error(monkeypatch):
    from seg_by_interaction.robot.sawyer import SawyerRobot
    monkeypatch.setitem(sys.modules, "intera_interface", None)
    with pytest.raises(RuntimeError, match="intera_sdk"):
        SawyerRobot(load_config())


def test_pick_place_follows_hover_descend_close_retract(robot, intera):
    r, limb, gripper, c = robot
    gripper.objects.append((0.6, 0.05, 0.03))
    held_at = []
    out = r.pick_place(Pose2D(0.6, 0.05, 0.3), Pose2D(0.7, -0.1, 0.0),
                       on_held=lambda: held_at.append(limb.endpoint_pose()["position"]))
    assert out.outcome == OUTCOME_PLACED and out.object_in_gripper
    assert out.extra["gripper_gap"] == pytest.approx(0.03)
    # IK asked with a geometry_msgs Pose for the configured tip, hover = grasp + hover_distance
    iks = [a for who, m, a in intera.LOG if m == "ik_request"]
    assert all(end_point == c["tip_name"] for _, end_point in iks)
    zs = [pose.position.z for pose, _ in iks]
    grasp_z = c["table_z"] + c["grasp_z_offset"]
    assert zs[0] == pytest.approx(grasp_z + c["hover_distance"]) and zs[1] == pytest.approx(grasp_z)
    # gripper pointing down, yawed so that the jaws close along theta
    q = iks[1][0].orientation
    assert math.hypot(q.x, q.y) == pytest.approx(1.0, abs=1e-9)       # z axis flipped: pointing down
    # order of robot calls: open, hover, descend, close, retract, held, ..., open, retreat, home
    seq = [(who, m) for who, m, _ in intera.LOG if m in ("open", "close", "move_to_joint_positions")]
    assert seq[:5] == [("gripper", "open"), ("limb", "move_to_joint_positions"),
                       ("limb", "move_to_joint_positions"), ("gripper", "close"),
                       ("limb", "move_to_joint_positions")]
    assert ("gripper", "open") in seq[5:]
    assert held_at and (held_at[0].x, held_at[0].y, held_at[0].z) == pytest.approx(tuple(c["held_pose"]))
    last = [a for who, m, a in intera.LOG if m == "move_to_joint_positions"][-1][0]
    assert list(last.values()) == pytest.approx(c["home_joints"])


def test_empty_grasp_reports_nothing_held(robot):
    r, limb, gripper, c = robot
    out = r.pick_place(Pose2D(0.6, 0.05, 0.0), Pose2D(0.7, 0.0, 0.0))
    assert out.outcome == OUTCOME_PLACED and not out.object_in_gripper


def test_gripper_positions_come_from_the_config(intera):
    from seg_by_interaction.robot.sawyer import SawyerRobot
    cfg = load_config(overrides={"robot.sawyer.gripper_open": 0.03, "robot.sawyer.gripper_closed": 0.002})
    limb = intera.Limb("right")
    gripper = intera.Gripper("right_gripper", limb=limb)
    r = SawyerRobot(cfg, limb=limb, gripper=gripper, robot_enable=intera.RobotEnable())
    out = r.pick_place(Pose2D(0.6, 0.05, 0.0), Pose2D(0.7, 0.0, 0.0))
    assert out.extra["gripper_gap"] == pytest.approx(0.002)      # closed on nothing: gripper_closed
    assert gripper.get_position() == pytest.approx(0.03)         # released: gripper_open


def test_unreachable_pose_fails_before_moving(robot, intera):
    r, limb, gripper, c = robot
    limb.reach = (0.3, 0.62)                   # the place point is beyond the arm
    out = r.pick_place(Pose2D(0.5, 0.0, 0.0), Pose2D(0.8, 0.2, 0.0))
    assert out.outcome == OUTCOME_UNREACHABLE and "IK" in out.message
    assert not any(m == "move_to_joint_positions" for _, m, _ in intera.LOG)


def test_goals_outside_workspace_and_nan_are_rejected(robot):
    r = robot[0]
    assert r.pick_place(Pose2D(2.0, 0.0), Pose2D(0.6, 0.0)).outcome == OUTCOME_UNREACHABLE
    assert r.pick_place(Pose2D(0.6, float("nan")), Pose2D(0.6, 0.0)).outcome == OUTCOME_INVALID_GOAL


def test_preemption_and_robot_errors(robot, intera):
    r, limb, gripper, c = robot
    moves = []
    out = r.pick_place(Pose2D(0.6, 0.0), Pose2D(0.7, 0.0),
                       feedback=lambda ph, pr: moves.append(ph), should_stop=lambda: "close" in moves)
    assert out.outcome == OUTCOME_PREEMPTED
    assert intera.LOG[-1][1] == "set_joint_positions"       # stop(): hold the current joints
    limb.fail_moves = True
    out = r.pick_place(Pose2D(0.6, 0.0), Pose2D(0.7, 0.0))
    assert out.outcome == OUTCOME_ROBOT_ERROR and "failed" in r.state()["error"]


def test_reset_sweep_visits_eight_boundary_points(robot, intera):
    r, limb, gripper, c = robot
    r.reset_sweep()
    hovers = [a[0].position for _, m, a in intera.LOG if m == "ik_request"
              and a[0].position.z > c["table_z"] + c["hover_distance"] / 2]
    starts = {(round(p.x, 3), round(p.y, 3)) for p in hovers} - {(0.65, 0.0)}
    assert len(starts) == 8
    x0, x1, y0, y1 = c["workspace"]
    for x, y in starts:
        assert min(abs(x - x0), abs(x - x1), abs(y - y0), abs(y - y1)) < 1e-6


# ---------------------------------------------------------------- calibration

def _true_camera():
    from seg_by_interaction.types import CameraModel
    K = np.array([[400, 0, 215], [0, 400, 175], [0, 0, 1.0]])
    R = np.array([[0, -1, 0], [-1, 0, 0], [0, 0, -1.0]])
    t = -R @ np.array([0.65, 0.0, 0.9])
    return CameraModel(430, 350, K=K, R=R, t=t)


def test_fit_homography_recovers_the_plane_map(tmp_path):
    from seg_by_interaction.cameras.calibration import fit_homography, load_calibration, save_calibration
    cam = _true_camera()
    rng = np.random.default_rng(0)
    xy = rng.uniform([0.45, -0.25], [0.85, 0.25], (12, 2))
    px = cam.project(xy) + rng.normal(0, 0.3, (12, 2))
    H, rms = fit_homography(px, xy)
    assert rms < 0.002
    save_calibration(tmp_path / "c.yaml", {0: H, 1: H}, 430, 350, {0: rms, 1: rms})
    models = load_calibration(tmp_path / "c.yaml")
    assert len(models) == 2
    test_px = np.array([[100.0, 80.0], [300.0, 250.0]])
    assert np.allclose(models[0].pixel_to_plane(test_px), cam.pixel_to_plane(test_px), atol=0.003)


def test_calibration_cli_and_errors(tmp_path):
    from seg_by_interaction.cameras.calibration import fit_homography, load_calibration, main
    cam = _true_camera()
    xy = np.array([[0.5, -0.2], [0.8, -0.2], [0.8, 0.2], [0.5, 0.2], [0.65, 0.0], [0.7, 0.1]])
    px = cam.project(xy)
    lines = ["camera,u,v,x,y"] + [f"{c},{u},{v},{x},{y}" for c in (0, 1) for (u, v), (x, y) in zip(px, xy)]
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n")
    assert main(["fit", str(tmp_path / "p.csv"), "-o", str(tmp_path / "c.yaml")]) == 0
    assert np.allclose(load_calibration(tmp_path / "c.yaml")[1].pixel_to_plane(px), xy, atol=1e-6)
    with pytest.raises(ValueError, match="at least 4"):
        fit_homography(px[:3], xy[:3])
    with pytest.raises(ValueError, match="not found"):
        load_calibration(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("cameras: [{id: 0}]\n")
    with pytest.raises(ValueError, match="not a valid calibration"):
        load_calibration(tmp_path / "bad.yaml")
    (tmp_path / "bad.csv").write_text("cam,u\n1,2\n")
    assert main(["fit", str(tmp_path / "bad.csv"), "-o", str(tmp_path / "x.yaml")]) == 2
