"""The segmenter node on a real master: service, topics, overlay, hot reload, bad input."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def _image(h=120, w=160):
    rng = np.random.default_rng(0)
    img = np.full((h, w, 3), 90, np.uint8)
    img[30:70, 40:90] = (220, 40, 40)
    return np.clip(img + rng.integers(0, 10, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def segmenter(ros_node, launch):
    from seg_by_interaction.ros.testing import wait_for_service
    launch("rosrun", "seg_by_interaction", "segmenter", "__name:=segmenter",
           "__ns:=/segtest", name="segmenter")
    wait_for_service("/segtest/segment", timeout=120)
    import rospy
    from seg_by_interaction.srv import Segment
    return rospy.ServiceProxy("/segtest/segment", Segment)


def test_segment_an_image_and_reject_bad_requests(segmenter):
    from sensor_msgs.msg import Image
    from seg_by_interaction.ros.conversions import msg_to_mask, rgb_to_msg
    img = _image()
    msg = rgb_to_msg(img)
    msg.header.frame_id = "from_test"
    resp = segmenter(image=msg, camera=-1, max_hypotheses=5, min_score=0.0)
    assert resp.success, resp.message
    hyps = resp.hypotheses.hypotheses
    assert len(hyps) <= 5
    assert resp.hypotheses.header.frame_id == "from_test"
    for h in hyps:
        mask = msg_to_mask(h.mask)
        assert mask.shape == img.shape[:2] and mask.any()
        assert h.header.frame_id == "from_test"
    scores = [h.score for h in hyps]
    assert scores == sorted(scores, reverse=True)
    # bad input answers with a reason and the node stays up
    empty = segmenter(image=Image(), camera=-1)
    assert not empty.success and "empty" in empty.message
    wrong = rgb_to_msg(img)
    wrong.encoding = "32FC1"
    bad = segmenter(image=wrong, camera=-1)
    assert not bad.success and "encoding" in bad.message
    no_frames = segmenter(camera=2)
    assert not no_frames.success and "frame" in no_frames.message
    assert segmenter(image=msg, camera=-1, max_hypotheses=1).success


def test_hot_reload_on_model_update_and_bad_checkpoint_kept_out(segmenter, tmp_path):
    import rospy
    from seg_by_interaction.config import load_config
    from seg_by_interaction.msg import ModelUpdate
    from seg_by_interaction.ros.conversions import rgb_to_msg
    from seg_by_interaction.ros.testing import wait_until
    from seg_by_interaction.training.trainer import Trainer
    cfg = load_config()
    good = tmp_path / "model_v00003.pt"
    Trainer(cfg).save(good)
    bad = tmp_path / "model_v00004.pt"
    bad.write_bytes(b"not a checkpoint")
    pub = rospy.Publisher("/segtest/model_updates", ModelUpdate, queue_size=5, latch=True)
    msg = rgb_to_msg(_image())

    def version():
        return segmenter(image=msg, camera=-1, max_hypotheses=1).hypotheses.model_version

    assert version() == 0
    pub.publish(ModelUpdate(version=3, checkpoint=str(good)))
    wait_until(lambda: version() == 3, 60, "the segmenter to load model v3")
    pub.publish(ModelUpdate(version=4, checkpoint=str(bad)))
    rospy.sleep(2.0)
    assert version() == 3  # a corrupt checkpoint never replaces a working model


def test_overlay_published_when_watched_and_saved_by_image_saver(segmenter, launch, tmp_path):
    import rospy
    from seg_by_interaction.ros.conversions import rgb_to_msg
    from seg_by_interaction.ros.testing import wait_until
    saver = launch("rosrun", "image_view", "image_saver", "image:=/segtest/segmenter/viz",
                   f"_filename_format:={tmp_path}/overlay%04d.png", "_save_all_image:=true",
                   name="image_saver")
    wait_until(lambda: _subscribed("/segtest/segmenter/viz"), 30,
               "image_saver to subscribe")
    for _ in range(3):
        assert segmenter(image=rgb_to_msg(_image()), camera=-1, max_hypotheses=3).success
        rospy.sleep(0.5)
    wait_until(lambda: list(tmp_path.glob("overlay*.png")), 30, "an overlay PNG", period=0.5)
    import cv2
    saved = cv2.imread(str(sorted(tmp_path.glob("overlay*.png"))[0]))
    assert saved.shape == (120, 160, 3)
    assert saver.alive


def _subscribed(topic):
    import rosgraph
    _, subs, _ = rosgraph.Master("/pytest").getSystemState()
    return any(t == topic and nodes for t, nodes in subs)


def test_rosservice_call_with_an_image_file(segmenter, ros_master, tmp_path):
    """The README's command-line recipe: rosservice call + image_to_yaml."""
    import cv2
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), cv2.cvtColor(_image(48, 64), cv2.COLOR_RGB2BGR))
    yaml_req = subprocess.run(["rosrun", "seg_by_interaction", "image_to_yaml", str(path),
                               "--max-hypotheses", "2"], env=ros_master.env,
                              capture_output=True, text=True, timeout=60, check=True).stdout
    out = subprocess.run(["rosservice", "call", "/segtest/segment", yaml_req],
                         env=ros_master.env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "success: True" in out.stdout
    bad = subprocess.run(["rosrun", "seg_by_interaction", "image_to_yaml", str(tmp_path / "nope.png")],
                         env=ros_master.env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "cannot read" in bad.stderr
