"""camera_capture on a real master, fed by camera streams published here (as real camera
drivers or the simulated world would): a fresh synchronised set; a silent camera, a camera
at another resolution and stale frames each give a clear error in bounded time, and the
node keeps serving."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros

W, H = 430, 350


class FakeCameras:
    """Four camN/image_raw streams at ~20 Hz; per-camera size, silence and stamp age."""

    def __init__(self, ns: str):
        import rospy
        from sensor_msgs.msg import CameraInfo, Image
        from seg_by_interaction.types import CameraModel
        from seg_by_interaction.ros.conversions import camera_to_msg
        self.size = {k: (W, H) for k in range(4)}
        self.silent: set[int] = set()
        self.age = 0.0
        self.pubs = [rospy.Publisher(f"{ns}/cam{k}/image_raw", Image, queue_size=4) for k in range(4)]
        model = CameraModel.from_homography(np.array([[500.0, 0, 215], [0, 500.0, 175], [0, 0, 1]]), W, H)
        self.infos = [rospy.Publisher(f"{ns}/cam{k}/camera_info", CameraInfo, queue_size=1, latch=True)
                      for k in range(4)]
        for pub in self.infos:
            pub.publish(camera_to_msg(model))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import rospy
        from seg_by_interaction.ros.conversions import rgb_to_msg
        while not self._stop.is_set():
            stamp = rospy.Time.from_sec(time.time() - self.age)
            for k, pub in enumerate(self.pubs):
                if k in self.silent:
                    continue
                w, h = self.size[k]
                msg = rgb_to_msg(np.full((h, w, 3), 40 * k, np.uint8))
                msg.header.stamp = stamp
                pub.publish(msg)
            time.sleep(0.05)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


# Long enough that a good capture on a loaded 2-core machine is never refused (the streams
# run at 20 Hz: a set is due every 50 ms), short enough to keep the refusals quick.
TIMEOUT = 4.0


def test_camera_capture_errors_are_clear_and_bounded(ros_node, launch):
    import rospy
    from seg_by_interaction.ros.conversions import msg_to_frames
    from support.ros_testing import wait_for_service, wait_until
    from seg_by_interaction.srv import CaptureFrames
    cams = FakeCameras("/capcam")
    try:
        launch("rosrun", "seg_by_interaction", "camera_capture", "__ns:=/capcam",
               f"_timeout:={TIMEOUT}", name="camera_capture")
        wait_for_service("/capcam/capture_frames", timeout=60)
        # the node receives every stream before it is asked (the service can come up first)
        wait_until(lambda: all(p.get_num_connections() > 0 for p in cams.pubs), 60,
                   "camera_capture to connect to the four streams")
        capture = rospy.ServiceProxy("/capcam/capture_frames", CaptureFrames)

        asked = time.time()
        resp = capture()
        assert resp.success, resp.message
        frames = msg_to_frames(resp.frames)
        assert [int(im[0, 0, 0]) for im in frames.images] == [0, 40, 80, 120]
        assert resp.frames.header.stamp.to_sec() >= asked - 0.01     # taken after the request

        cams.silent = {2}
        t0 = time.monotonic()
        resp = capture()
        assert not resp.success and time.monotonic() - t0 < TIMEOUT + 5    # bounded
        assert "camera 2 (/capcam/cam2/image_raw) sent no image since the request" in resp.message
        assert f"within {TIMEOUT:.1f} s" in resp.message

        cams.silent = set()
        cams.size[1] = (200, 100)        # every frame newer than the next request has it
        resp = capture()
        assert not resp.success
        assert "camera 1 (/capcam/cam1/image_raw) sends 200x100, its model is 430x350" in resp.message

        cams.size[1] = (W, H)
        cams.age = 10.0                                  # a driver replaying old frames
        t0 = time.monotonic()
        resp = capture()
        assert not resp.success and "sent no image since the request" in resp.message
        assert time.monotonic() - t0 < TIMEOUT + 5

        cams.age = 0.0
        resp = capture()
        assert resp.success, resp.message                # still serving
        refused = capture(include_ground_truth=True)
        assert not refused.success and "no ground truth" in refused.message
    finally:
        cams.stop()
