"""The callback-fed camera rig used with the real robot's four external cameras."""
import threading
import time

import numpy as np
import pytest

from seg_by_interaction.cameras.buffered import BufferedCameraRig
from seg_by_interaction.cameras.model import CameraModel


def _rig(timeout=1.0):
    cams = [CameraModel.from_homography(np.eye(3), 430, 350) for _ in range(4)]
    return BufferedCameraRig(cams, timeout=timeout)


def test_capture_waits_for_a_fresh_frame_from_every_camera():
    rig = _rig()
    for i in range(4):
        rig.push(i, np.full((350, 430, 3), 9, np.uint8), time.time() - 10)     # stale frames

    def feed():
        time.sleep(0.05)
        for i in range(4):
            rig.push(i, np.full((350, 430, 3), i, np.uint8), time.time())

    threading.Thread(target=feed).start()
    f = rig.capture()
    assert [int(im[0, 0, 0]) for im in f.images] == [0, 1, 2, 3]
    assert f.gt_instances is None


def test_capture_times_out_naming_the_silent_camera_and_validates_input():
    rig = _rig(timeout=0.1)
    for i in (0, 1, 3):
        rig.push(i, np.zeros((350, 430, 3), np.uint8), time.time() + 1)
    with pytest.raises(TimeoutError, match=r"\[2\]"):
        rig.capture()
    with pytest.raises(ValueError, match="calibrated for"):
        rig.push(0, np.zeros((10, 10, 3), np.uint8), 0.0)
    with pytest.raises(ValueError, match="out of range"):
        rig.push(7, np.zeros((350, 430, 3), np.uint8), 0.0)
    with pytest.raises(ValueError, match="simulation only"):
        rig.capture(include_ground_truth=True)
