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
def segmenter_node(ros_node, launch, tmp_path):
    """(Segment service proxy, the node's process: its log is the evidence of what it did).
    It serves the preset's seeded untrained model, named as ~checkpoint: alone it would serve
    the shipped one, whose masks these service tests must not depend on."""
    from seg_by_interaction.config import load_config
    from seg_by_interaction.perception.checkpoint import save_checkpoint
    from seg_by_interaction.perception.inference import build_model
    from support.ros_testing import wait_for_service
    cfg = load_config()
    untrained = tmp_path / "untrained.pt"
    save_checkpoint(untrained, build_model(cfg), model_cfg=cfg.model)
    proc = launch("rosrun", "seg_by_interaction", "segmenter", "__name:=segmenter",
                  "__ns:=/segtest", f"_checkpoint:={untrained}", name="segmenter")
    wait_for_service("/segtest/segment", timeout=120)
    import rospy
    from seg_by_interaction.srv import Segment
    return rospy.ServiceProxy("/segtest/segment", Segment), proc


@pytest.fixture
def segmenter(segmenter_node):
    return segmenter_node[0]


def test_segment_an_image_and_reject_bad_requests(segmenter):
    from sensor_msgs.msg import Image
    from seg_by_interaction.ros.conversions import msg_to_mask, rgb_to_msg
    img = _image()
    msg = rgb_to_msg(img)
    msg.header.frame_id = "from_test"
    resp = segmenter(image=msg, camera=-1, max_hypotheses=5, min_score=0.0)
    assert resp.success, resp.message
    hyps = resp.hypotheses.hypotheses
    assert 1 <= len(hyps) <= 5  # the seeded untrained model finds one here: the loop below runs
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


def test_hot_reload_on_model_update_and_bad_checkpoint_kept_out(segmenter_node, tmp_path):
    segmenter, proc = segmenter_node
    import rospy
    from seg_by_interaction.config import load_config
    from seg_by_interaction.msg import ModelUpdate
    from seg_by_interaction.ros.conversions import rgb_to_msg
    from support.ros_testing import wait_until
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
    wait_until(lambda: f"cannot load {bad}" in proc.log(), 60,
               "the segmenter to process and refuse the corrupt v4")
    assert version() == 3  # a corrupt checkpoint never replaces a working model


def test_update_without_checkpoint_is_refused_and_keeps_the_version(segmenter_node, tmp_path):
    """checkpoint "" once loaded the untrained model as v1008: later real updates looked
    older and were ignored, and interactions were stamped v1008."""
    segmenter, proc = segmenter_node
    import rospy
    from seg_by_interaction.config import load_config
    from seg_by_interaction.msg import ModelUpdate
    from seg_by_interaction.ros.conversions import rgb_to_msg
    from support.ros_testing import wait_until
    from seg_by_interaction.training.trainer import Trainer
    pub = rospy.Publisher("/segtest/model_updates", ModelUpdate, queue_size=5)
    wait_until(lambda: pub.get_num_connections() > 0, 30, "the segmenter to subscribe")
    msg = rgb_to_msg(_image())

    def version():
        return segmenter(image=msg, camera=-1, max_hypotheses=1).hypotheses.model_version

    for bogus in ("", "   "):
        pub.publish(ModelUpdate(version=1008, checkpoint=bogus))
    wait_until(lambda: proc.log().count("refused model update v1008") == 2, 60,
               "the segmenter to refuse both updates without a checkpoint")
    assert "names no checkpoint" in proc.log()
    assert version() == 0
    good = tmp_path / "model_v00005.pt"
    Trainer(load_config()).save(good)
    pub.publish(ModelUpdate(version=5, checkpoint=str(good)))
    wait_until(lambda: version() == 5, 60, "the next real update (v5) to be loaded")
    pub.publish(ModelUpdate(version=6, checkpoint=""))
    wait_until(lambda: "refused model update v6" in proc.log(), 60, "v6 to be refused")
    assert version() == 5


def test_oversized_image_refused_before_conversion(segmenter_node):
    """A 5000x5000 request once ran for minutes and grew the node by 14 GB: images above
    inference.max_image_pixels are refused from their header fields."""
    segmenter, proc = segmenter_node
    from seg_by_interaction.config import load_config
    from seg_by_interaction.ros.conversions import rgb_to_msg
    from sensor_msgs.msg import Image
    limit = load_config()["inference"]["max_image_pixels"]
    # the header alone says 5000x5000: refused before the (short) data is even looked at
    claim = Image(height=5000, width=5000, encoding="rgb8", step=15000, data=b"\0" * 64)
    resp = segmenter(image=claim, camera=-1)
    assert not resp.success
    assert "too large" in resp.message and "max_image_pixels" in resp.message
    assert "5000x5000" in resp.message and str(limit) in resp.message
    # a real image just over the limit (1 row more than fits at this width)
    w = 1000
    big = np.zeros((limit // w + 1, w, 3), np.uint8)
    big[100:200, 100:200] = 200
    resp = segmenter(image=rgb_to_msg(big), camera=-1)
    assert not resp.success and "too large" in resp.message
    assert proc.alive and segmenter(image=rgb_to_msg(_image()), camera=-1).success


def test_overlay_published_when_watched_and_saved_by_image_saver(segmenter, launch, tmp_path):
    import cv2
    from seg_by_interaction.ros.conversions import rgb_to_msg
    from support.ros_testing import wait_until
    saver = launch("rosrun", "image_view", "image_saver", "image:=/segtest/segmenter/viz",
                   f"_filename_format:={tmp_path}/overlay%04d.png", "_save_all_image:=true",
                   name="image_saver")
    wait_until(lambda: _subscribed("/segtest/segmenter/viz"), 30,
               "image_saver to subscribe")
    # the overlay is published only while someone is connected, so the registration above
    # is not enough: wait for the segmenter's own publisher to hold the connection
    wait_until(lambda: _publishes_to("/segtest/segmenter", "/segtest/segmenter/viz"), 60,
               "the segmenter's overlay publisher to connect to image_saver")
    assert segmenter(image=rgb_to_msg(_image()), camera=-1, max_hypotheses=3).success
    saved = []

    def overlay_saved():        # a whole file: image_saver may still be writing the first one
        for path in sorted(tmp_path.glob("overlay*.png")):
            img = cv2.imread(str(path))
            if img is not None:
                saved.append(img)
                return True
        return False
    wait_until(overlay_saved, 60, "an overlay PNG", period=0.2)
    assert saved[0].shape == (120, 160, 3)
    assert saver.alive


def _subscribed(topic):
    import rosgraph
    _, subs, _ = rosgraph.Master("/pytest").getSystemState()
    return any(t == topic and nodes for t, nodes in subs)


def _publishes_to(node, topic):
    """Whether ``node`` has an outbound connection on ``topic`` (its getBusInfo), i.e. what
    it publishes now reaches a subscriber."""
    import xmlrpc.client

    import rosgraph
    uri = rosgraph.Master("/pytest").lookupNode(node)
    code, _, info = xmlrpc.client.ServerProxy(uri).getBusInfo("/pytest")
    return code == 1 and any(c[2] == "o" and c[4] == topic for c in info)


def test_rosservice_call_with_an_image_file(segmenter, ros_master, tmp_path):
    """The README's command-line recipe: rosservice call + image_to_yaml."""
    import cv2
    path = tmp_path / "scene.png"
    img = _image(48, 64)
    img[5:25, 5:30], img[23:45, 34:60] = (220, 40, 40), (40, 40, 220)   # two objects: two hypotheses
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    yaml_req = subprocess.run(["rosrun", "seg_by_interaction", "image_to_yaml", str(path),
                               "--max-hypotheses", "2"], env=ros_master.env,
                              capture_output=True, text=True, timeout=60, check=True).stdout
    out = subprocess.run(["rosservice", "call", "/segtest/segment", yaml_req],
                         env=ros_master.env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "success: True" in out.stdout
    assert out.stdout.count("score: ") == 2  # two hypotheses came back (--max-hypotheses 2)
    bad = subprocess.run(["rosrun", "seg_by_interaction", "image_to_yaml", str(tmp_path / "nope.png")],
                         env=ros_master.env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "cannot read" in bad.stderr


def test_alone_the_segmenter_serves_the_shipped_model(ros_node, launch):
    """No ~checkpoint, no ~checkpoint_dir: models/default.pt, named in the ready line."""
    from support.ros_testing import wait_for_service, wait_until
    from seg_by_interaction.perception.shipped import shipped_model
    proc = launch("rosrun", "seg_by_interaction", "segmenter", "__name:=segmenter",
                  "__ns:=/segshipped", name="segmenter_shipped")
    wait_for_service("/segshipped/segment", timeout=120)
    wait_until(lambda: "segmenter ready" in proc.log(), 30, "the segmenter's ready line")
    ready = next(line for line in proc.log().splitlines() if "segmenter ready" in line)
    assert str(shipped_model()) in ready, ready
