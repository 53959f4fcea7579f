"""segment_camera: segment any camera stream as it comes.

Subscribes to ``image`` (sensor_msgs/Image: rgb8, bgr8, rgba8, bgra8 or mono8, any size; or,
with ~compressed, ``image/compressed``, sensor_msgs/CompressedImage) and publishes, with the
*input's* header (stamp and frame_id, so it syncs with depth and camera_info):

- ``~label_image``: sensor_msgs/Image mono16, 0 = background, k = hypothesis k (1 = the best
  score; where masks overlap the better score keeps the pixel);
- ``~hypotheses``: HypothesisArray, hypothesis ids 1..N matching the labels;
- ``~viz``: an rgb8 overlay, only while someone subscribes.

Stale frames are dropped, never queued: the node keeps only the newest frame and segments it
when the previous one is done (at most ~rate Hz; 0 = as fast as it can). A frame larger than
~max_pixels (stream.max_pixels: 320x240) is segmented downscaled and its labels
scaled back to the input's size, so one core keeps up with a ~2 Hz camera and a huge frame
costs one bounded pass. ~max_hypotheses and ~min_score (stream section) are read for every
frame (``rosparam set`` changes them live). The model is
~checkpoint, else the newest in ~checkpoint_dir, else the model shipped with the package.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

import cv2
import numpy as np

from seg_by_interaction.perception.frame_size import downscale, upscale
from seg_by_interaction.perception.label_image import label_image


def decode_frame(msg) -> np.ndarray:
    """An Image or CompressedImage message -> RGB uint8 [H, W, 3] (ConversionError if not)."""
    from seg_by_interaction.ros.conversions import ConversionError, msg_to_rgb
    if hasattr(msg, "format"):                      # sensor_msgs/CompressedImage
        data = np.frombuffer(bytes(msg.data), np.uint8)
        img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if img is None:
            raise ConversionError(f"compressed image ({msg.format or 'no format'}) does not decode")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return msg_to_rgb(msg)


class StreamNode:
    """The newest frame wins. ``offer(msg)`` keeps a frame (dropping the one still waiting);
    ``process(msg)`` segments one and publishes its results; ``run`` is the worker loop.

    ``publish_labels``/``publish_hypotheses``: callables; ``viz_pub``: anything with publish
    and get_num_connections (None = no overlay); ``params()`` -> (max_hypotheses, min_score)."""

    def __init__(self, segmenter, max_pixels: int, params: Callable[[], tuple[int, float]],
                 publish_labels: Callable[[Any], None], publish_hypotheses: Callable[[Any], None],
                 viz_pub: Any = None, viz_limit: int = 20, log_error: Callable[[str], None] = lambda t: None):
        self.segmenter, self.max_pixels, self.params = segmenter, int(max_pixels), params
        self.publish_labels, self.publish_hypotheses = publish_labels, publish_hypotheses
        self.viz_pub, self.viz_limit, self.log_error = viz_pub, int(viz_limit), log_error
        self._newest = None
        self._ready = threading.Condition()
        self.received = self.dropped = self.processed = self.refused = 0
        self.last_latency: Optional[float] = None       # s from the frame's arrival to its labels

    def offer(self, msg) -> None:
        with self._ready:
            self.received += 1
            if self._newest is not None:
                self.dropped += 1                        # stale: a newer frame replaces it
            self._newest = (msg, time.monotonic())
            self._ready.notify()

    def take(self, timeout: float):
        """The newest waiting frame (and when it arrived), or None after ``timeout`` s."""
        with self._ready:
            if self._newest is None:
                self._ready.wait(timeout)
            item, self._newest = self._newest, None
            return item

    def process(self, msg, arrived: Optional[float] = None) -> bool:
        """Segment one frame and publish its label image and hypotheses; False (logged) when
        the frame cannot be used."""
        from seg_by_interaction.msg import HypothesisArray
        from seg_by_interaction.ros.conversions import (ConversionError, hypothesis_to_msg,
                                                        rgb_to_msg)
        try:
            image = decode_frame(msg)
        except ConversionError as exc:
            self.refused += 1
            self.log_error(f"frame refused: {exc}")
            return False
        max_hyp, min_score = self.params()
        small, factor = downscale(image, self.max_pixels)
        hyps = self.segmenter.segment(small, max_hypotheses=int(max_hyp), min_score=float(min_score))
        if factor != 1.0:
            hyps = upscale(hyps, image.shape[:2])
        hyps = sorted(hyps, key=lambda h: -float(h.score))   # label k = hypothesis id k
        header = msg.header
        labels = label_image(hyps, image.shape[:2])
        self.publish_labels(_mono16(labels, header))
        out = HypothesisArray(header=header, model_version=int(getattr(self.segmenter, "version", 0)))
        out.hypotheses = [hypothesis_to_msg(h, i + 1, header) for i, h in enumerate(hyps)]
        self.publish_hypotheses(out)
        if self.viz_pub is not None and self.viz_pub.get_num_connections() > 0:
            from seg_by_interaction.visualization import overlay_hypotheses
            self.viz_pub.publish(rgb_to_msg(overlay_hypotheses(image, hyps, self.viz_limit), header))
        self.processed += 1
        if arrived is not None:
            self.last_latency = time.monotonic() - arrived
        return True

    def run(self, stop: Callable[[], bool], min_period: float = 0.0) -> None:
        """Segment the newest frame, again and again, at most once per ``min_period`` s."""
        while not stop():
            item = self.take(0.2)
            if item is None:
                continue
            started = time.monotonic()
            try:
                self.process(*item)
            except Exception as exc:            # the stream goes on; the next frame may be fine
                self.log_error(f"segmenting a frame failed: {type(exc).__name__}: {exc}")
            rest = min_period - (time.monotonic() - started)
            if rest > 0:
                time.sleep(rest)


def _mono16(labels: np.ndarray, header):
    from sensor_msgs.msg import Image
    msg = Image(header=header, height=labels.shape[0], width=labels.shape[1], encoding="mono16",
                is_bigendian=0, step=labels.shape[1] * 2)
    msg.data = np.ascontiguousarray(labels.astype("<u2")).tobytes()
    return msg


def main():
    import sys

    import rospy
    from sensor_msgs.msg import CompressedImage, Image

    from seg_by_interaction.msg import HypothesisArray
    from seg_by_interaction.perception.checkpoint import CheckpointError
    from seg_by_interaction.perception.inference import load_segmenter
    from seg_by_interaction.perception.shipped import shipped_model
    from seg_by_interaction.ros.params import node_config
    from seg_by_interaction.training.online import start_from

    rospy.init_node("segment_camera")
    cfg = node_config()
    checkpoint = rospy.get_param("~checkpoint", "") or ""
    checkpoint_dir = rospy.get_param("~checkpoint_dir", "") or ""
    if not checkpoint and not checkpoint_dir:
        checkpoint = str(shipped_model())
    try:
        resumed = start_from(checkpoint, checkpoint_dir, lambda p: load_segmenter(p, cfg, device=cfg.device))
    except (CheckpointError, OSError) as exc:
        rospy.logfatal("cannot start: %s", exc)
        sys.exit(2)
    segmenter = resumed.loaded

    sc = cfg.stream

    def params():     # read for every frame: `rosparam set` changes them live (0 / < 0: the preset's)
        max_hyp = int(rospy.get_param("~max_hypotheses", 0)) or sc.max_hypotheses
        min_score = float(rospy.get_param("~min_score", -1.0))
        return max_hyp, (min_score if min_score >= 0 else sc.min_score)

    labels_pub = rospy.Publisher("~label_image", Image, queue_size=1)
    hyps_pub = rospy.Publisher("~hypotheses", HypothesisArray, queue_size=1)
    node = StreamNode(segmenter, int(rospy.get_param("~max_pixels", 0)) or sc.max_pixels,
                      params, labels_pub.publish, hyps_pub.publish,
                      viz_pub=rospy.Publisher("~viz", Image, queue_size=1), viz_limit=cfg.ros.viz_limit,
                      log_error=rospy.logerr)
    if rospy.get_param("~compressed", False):
        rospy.Subscriber("image/compressed", CompressedImage, node.offer, queue_size=1, buff_size=2 ** 26)
    else:
        rospy.Subscriber("image", Image, node.offer, queue_size=1, buff_size=2 ** 26)
    rate = float(rospy.get_param("~rate", 0.0))
    rospy.loginfo("segment_camera ready on %s (%s), model %s", rospy.resolve_name("image"),
                  "compressed" if rospy.get_param("~compressed", False) else "raw", resumed.describe())
    node.run(rospy.is_shutdown, 1.0 / rate if rate > 0 else 0.0)
