"""Stream mode: any camera topic in, a label image out with the input's header; stale
frames dropped, huge frames downscaled without stalling the stream; segment_folder."""
from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from seg_by_interaction.config import load_config

SMALL = {"inference.max_levels": 2}


def _photo(h, w, seed=0):
    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(110, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    for _ in range(4):
        y, x = int(rng.integers(0, h - h // 5)), int(rng.integers(0, w - w // 5))
        img[y:y + h // 6, x:x + w // 6] = rng.integers(0, 255, 3)
    return img


def _msg(img, stamp, frame_id):
    import rospy
    from seg_by_interaction.ros.conversions import rgb_to_msg
    msg = rgb_to_msg(img)
    msg.header.stamp, msg.header.frame_id = rospy.Time(stamp), frame_id
    return msg


@pytest.fixture(scope="module")
def segmenter():
    from seg_by_interaction.perception.inference import load_segmenter
    from seg_by_interaction.perception.shipped import shipped_model
    return load_segmenter(str(shipped_model()), load_config(overrides=SMALL))


def test_stream_node_drops_stale_frames_keeps_headers_and_downscales_huge_ones(segmenter):
    from sensor_msgs.msg import CompressedImage, Image
    from seg_by_interaction.ros.nodes.segment_camera import StreamNode
    labels, hyps = [], []
    node = StreamNode(segmenter, 10 ** 6, lambda: (10, 0.0), labels.append, hyps.append)
    for k in range(3):
        node.offer(_msg(_photo(240, 320, k), 100 + k, f"cam{k}"))
    msg, _ = node.take(0.1)
    assert msg.header.frame_id == "cam2" and node.dropped == 2 and node.take(0.05) is None
    assert node.process(msg)
    (lab,), (arr,) = labels, hyps
    assert lab.header == msg.header == arr.header and lab.encoding == "mono16"
    assert (lab.width, lab.height) == (320, 240)
    ids = np.unique(np.frombuffer(bytes(lab.data), "<u2").reshape(240, 320))
    assert set(int(i) for i in ids if i) <= {h.id for h in arr.hypotheses}      # labels name hypotheses
    assert [h.id for h in arr.hypotheses] == list(range(1, len(arr.hypotheses) + 1))
    assert all(a.score >= b.score for a, b in zip(arr.hypotheses, arr.hypotheses[1:]))
    huge = _msg(cv2.resize(_photo(400, 400, 9), (4000, 4000), interpolation=cv2.INTER_NEAREST), 200, "big")
    t0 = time.monotonic()
    assert node.process(huge)
    assert (labels[-1].width, labels[-1].height) == (4000, 4000) and labels[-1].header.frame_id == "big"
    assert time.monotonic() - t0 < 60                   # one bounded pass at 1 MP, not 16 MP
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(_photo(120, 160, 3), cv2.COLOR_RGB2BGR))
    jpeg = CompressedImage(format="jpeg", data=data.tobytes())
    jpeg.header.frame_id = "compressed"
    assert node.process(jpeg) and labels[-1].header.frame_id == "compressed"
    assert not node.process(Image(height=2, width=2, encoding="32FC1", step=16, data=bytes(32)))
    assert not node.process(CompressedImage(format="jpeg", data=b"not a jpeg"))
    assert node.refused == 2 and node.processed == 3


def test_segment_folder_writes_label_images_and_skips_what_it_cannot_read(tmp_path, segmenter):
    from seg_by_interaction.__main__ import main as cli
    src = tmp_path / "photos"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), _photo(300, 400, 1))
    cv2.imwrite(str(src / "b.jpg"), cv2.resize(_photo(300, 400, 2), (1400, 1000)))   # > 1 MP
    (src / "c.png").write_bytes(b"no image here")
    (src / "notes.txt").write_text("not an image")
    out = tmp_path / "labels"
    assert cli(["--set", "inference.max_levels=2", "segment-folder", str(src), str(out)]) == 0
    a = cv2.imread(str(out / "a.png"), cv2.IMREAD_UNCHANGED)
    b = cv2.imread(str(out / "b.png"), cv2.IMREAD_UNCHANGED)
    assert a.dtype == np.uint16 and a.shape == (300, 400) and b.shape == (1000, 1400)
    assert not (out / "c.png").exists()
    lines = [json.loads(x) for x in (out / "hypotheses.jsonl").read_text().splitlines()]
    assert [x["file"] for x in lines] == ["a.png", "b.jpg"]
    assert all(set(np.unique(cv2.imread(str(out / f"{x['file'].split('.')[0]}.png"), cv2.IMREAD_UNCHANGED)))
               - {0} <= {lab["label"] for lab in x["labels"]} for x in lines)
    assert cli(["segment-folder", str(tmp_path / "nothing"), str(out)]) == 2


@pytest.mark.ros
def test_segment_camera_launch_answers_every_size_with_the_inputs_header(ros_node, launch):
    import rospy
    from sensor_msgs.msg import Image
    from seg_by_interaction.msg import HypothesisArray
    from support.ros_testing import wait_until
    launch("roslaunch", "seg_by_interaction", "segment_camera.launch", "image:=/testcam/image_raw",
           "name:=seg", "max_hypotheses:=8", name="segment_camera")
    labels, hyps = {}, {}
    subs = [rospy.Subscriber("/seg/label_image", Image, lambda m: labels.setdefault(m.header.frame_id, m)),
            rospy.Subscriber("/seg/hypotheses", HypothesisArray,
                             lambda m: hyps.setdefault(m.header.frame_id, m))]
    pub = rospy.Publisher("/testcam/image_raw", Image, queue_size=1)
    wait_until(lambda: pub.get_num_connections() > 0 and all(s.get_num_connections() for s in subs),
               120, "segment_camera's topics")
    frames = {"small": _photo(240, 320, 1), "vga": _photo(480, 640, 2),
              "huge": cv2.resize(_photo(400, 400, 3), (4000, 4000), interpolation=cv2.INTER_NEAREST)}
    sent = {}
    for name, img in frames.items():          # a camera driver: one frame, until it is answered
        sent[name] = _msg(img, 1000 + len(sent), name)
        deadline = time.monotonic() + 120
        while name not in labels and time.monotonic() < deadline:
            pub.publish(sent[name])
            time.sleep(0.5)
        assert name in labels, f"no label image for the {name} frame"
    for name, img in frames.items():
        lab, arr = labels[name], hyps[name]
        assert lab.header.stamp == sent[name].header.stamp and arr.header.stamp == sent[name].header.stamp
        assert (lab.height, lab.width) == img.shape[:2] and lab.encoding == "mono16"
        ids = np.unique(np.frombuffer(bytes(lab.data), "<u2"))
        assert set(int(i) for i in ids if i) <= {h.id for h in arr.hypotheses}
        assert len(arr.hypotheses) <= 8
    for s in subs:
        s.unregister()
