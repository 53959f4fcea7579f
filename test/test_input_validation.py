"""Inputs from outside that used to be accepted: image data longer than step x height, an
all-ones mask planned into a grasp wider than the workspace, a pick/place goal at theta 1e9."""
from __future__ import annotations

import math

import numpy as np
import pytest


def test_image_and_mask_data_must_match_step_times_height():
    from seg_by_interaction.ros.conversions import (ConversionError, mask_to_msg, msg_to_mask,
                                                    msg_to_rgb, rgb_to_msg)
    msg = rgb_to_msg(np.zeros((4, 5, 3), np.uint8))
    assert msg_to_rgb(msg).shape == (4, 5, 3)
    for data in (bytes(msg.data) + b"\0" * 7, bytes(msg.data)[:-1]):
        msg.data = data
        with pytest.raises(ConversionError, match="bytes, but 5x4 rgb8 with step 15 is 60"):
            msg_to_rgb(msg)
    mask = mask_to_msg(np.ones((3, 4), bool))
    mask.data = bytes(mask.data) + b"\xff"
    with pytest.raises(ConversionError, match="mask data is 13 bytes"):
        msg_to_mask(mask)


def test_an_all_ones_mask_gets_no_grasp():
    from seg_by_interaction.config import load_config
    from seg_by_interaction.grasping import check_width, grasp_to_arena, plan_grasp
    from seg_by_interaction.sim.camera_layout import make_cameras
    cfg = load_config()
    cam = make_cameras(cfg)[0].model
    g = plan_grasp(np.ones((cam.height, cam.width), bool), cfg["grasping"]["min_pixels"])
    width = grasp_to_arena(g, cam)[3]
    assert width > 0.5                          # the 0.665 m grasp
    with pytest.raises(ValueError, match="wider than grasping.max_width"):
        check_width(width, cfg["grasping"]["max_width"])
    check_width(0.06, cfg["grasping"]["max_width"])   # an object the jaws close on
    with pytest.raises(ValueError):
        check_width(math.nan, 0.15)


def test_pick_place_goals_with_absurd_angles_are_refused():
    from seg_by_interaction.robot.interface import OUTCOME_INVALID_GOAL, Robot
    from seg_by_interaction.types import Pose2D

    class Arm(Robot):
        @property
        def workspace(self):
            return (-0.2, 0.2, -0.2, 0.2)

        def stop(self):
            pass

        def pick_place(self, pick, place, on_held=None):
            raise AssertionError("not reached")

        def home(self):
            pass

        def reset_sweep(self):
            pass
    arm = Arm()
    ok = Pose2D(0.0, 0.0, 1.0)
    assert arm.check_goal(ok, Pose2D(0.1, 0.1, -3.0)) is None
    for theta in (1e9, -7.0, math.inf):
        out = arm.check_goal(Pose2D(0.0, 0.0, theta), ok)
        assert out is not None and out.outcome == OUTCOME_INVALID_GOAL, theta
