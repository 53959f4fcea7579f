"""segmenter: the Segment service, hypotheses on a topic, an rgb8 overlay, hot reloads.

Requests carry an image or name a camera whose latest frame (from ``frames``) is used.
A ModelUpdate on ``model_updates`` loads the new checkpoint in a background thread and
swaps it in atomically, so requests are never dropped while a model loads. An update
without a checkpoint path, or whose checkpoint cannot be loaded, is refused (logged) and
the running model and its version kept: only a model that loaded moves the version.

Work per request is bounded: an image larger than ``inference.max_image_pixels`` is
refused from its header fields before any conversion, and one request is segmented at a
time (rospy serves each call in its own thread), so memory holds one request's pyramid.
"""
from __future__ import annotations

import logging
import threading
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from seg_by_interaction.msg import FrameSet, HypothesisArray, ModelUpdate
from seg_by_interaction.ros.conversions import (ConversionError, check_image_size,
                                                hypothesis_to_msg, msg_to_rgb, rgb_to_msg)
from seg_by_interaction.srv import SegmentResponse
from seg_by_interaction.visualization import overlay_hypotheses


class SegmenterNode:
    """``segment`` requests, frame sets and model updates in; hypotheses out. ``hypotheses_pub``
    and ``viz_pub`` (anything with publish and get_num_connections; None = nobody) get what
    someone listens to; ``log`` has info/error(fmt, *args)."""

    def __init__(self, load: Callable[[str | None], object], checkpoint: str | None,
                 default_max_hypotheses: int, viz_limit: int, max_image_pixels: int,
                 first: object = None, hypotheses_pub: Any = None, viz_pub: Any = None,
                 log: Any = None):
        """``first``: the segmenter already loaded from ``checkpoint`` (else loaded here)."""
        self._load = load
        self._lock = threading.Lock()
        self._work = threading.Lock()       # one segmentation at a time: bounded memory
        self.segmenter = first if first is not None else load(checkpoint)
        self.version = 0
        self.checkpoint = checkpoint
        self.default_max = int(default_max_hypotheses)
        self.viz_limit = int(viz_limit)
        self.max_image_pixels = int(max_image_pixels)
        self._latest: FrameSet | None = None
        self.hyp_pub, self.viz_pub = hypotheses_pub, viz_pub
        self.log = log or logging.getLogger(__name__)

    def on_frames(self, msg: FrameSet):
        self._latest = msg

    def on_update(self, msg: ModelUpdate):
        """Load the announced model in the background; requests go on meanwhile."""
        threading.Thread(target=self.reload, args=(msg,), daemon=True).start()

    @staticmethod
    def update_problem(msg: ModelUpdate) -> str | None:
        """Why a ModelUpdate cannot be used, or None."""
        if not msg.checkpoint.strip():
            return "it names no checkpoint (empty path)"
        if msg.version == 0:
            return "version 0 is the untrained model's"
        return None

    def reload(self, msg: ModelUpdate) -> bool:
        """Swap in the model a ModelUpdate names; False (logged) when it is refused."""
        problem = self.update_problem(msg)
        if problem is not None:
            self.log.error("refused model update v%d: %s; keeping model v%d", msg.version,
                           problem, self.version)
            return False
        if msg.version <= self.version:
            self.log.info("ignored model update v%d: already running v%d", msg.version, self.version)
            return False
        try:
            segmenter = self._load(msg.checkpoint)
        except Exception as exc:
            self.log.error("keeping model v%d: cannot load %s: %s", self.version, msg.checkpoint, exc)
            return False
        with self._lock:
            if msg.version > self.version:
                self.segmenter, self.version, self.checkpoint = segmenter, msg.version, msg.checkpoint
        self.log.info("segmenter now runs model v%d (%s)", msg.version, msg.checkpoint)
        return True

    def _request_image(self, req):
        if req.camera < 0:
            check_image_size(req.image, self.max_image_pixels)
            return msg_to_rgb(req.image), req.image.header
        latest = self._latest
        if latest is None:
            raise ConversionError("no frame set received yet on 'frames'")
        if req.camera >= len(latest.images):
            raise ConversionError(f"camera {req.camera} does not exist "
                                  f"(the frame set has {len(latest.images)})")
        img = latest.images[req.camera]
        check_image_size(img, self.max_image_pixels)
        return msg_to_rgb(img), img.header

    def handle(self, req) -> SegmentResponse:
        try:
            image, header = self._request_image(req)
        except ConversionError as exc:
            return SegmentResponse(success=False, message=str(exc))
        if not np.isfinite(req.min_score):
            return SegmentResponse(success=False, message="min_score must be finite")
        with self._lock:
            segmenter, version = self.segmenter, self.version
        limit = int(req.max_hypotheses) or self.default_max
        try:
            with self._work:
                hyps = segmenter.segment(image, max_hypotheses=limit,
                                         min_score=float(req.min_score))
        except ValueError as exc:
            return SegmentResponse(success=False, message=str(exc))
        out = HypothesisArray(header=header, model_version=version)
        out.hypotheses = [hypothesis_to_msg(h, i, header, camera=int(req.camera))
                          for i, h in enumerate(hyps)]
        if self.hyp_pub is not None and self.hyp_pub.get_num_connections() > 0:
            self.hyp_pub.publish(out)
        if self.viz_pub is not None and self.viz_pub.get_num_connections() > 0:  # only if watched
            self.viz_pub.publish(rgb_to_msg(overlay_hypotheses(image, hyps, self.viz_limit),
                                            header))
        return SegmentResponse(success=True, message=f"{len(hyps)} hypotheses (model v{version})",
                               hypotheses=out)


def main():
    import sys

    import rospy
    from sensor_msgs.msg import Image

    from seg_by_interaction.perception.checkpoint import CheckpointError
    from seg_by_interaction.perception.inference import load_segmenter
    from seg_by_interaction.ros.params import node_config
    from seg_by_interaction.srv import Segment
    from seg_by_interaction.training.online import start_from

    rospy.init_node("segmenter")
    cfg = node_config()

    def load(path):
        return load_segmenter(path, cfg, device=cfg.device)
    checkpoint = rospy.get_param("~checkpoint", "") or ""
    checkpoint_dir = rospy.get_param("~checkpoint_dir", "") or ""
    if not checkpoint and not checkpoint_dir:   # alone, with no model named: the shipped one
        from seg_by_interaction.perception.shipped import models_dir, MODEL_FILE
        shipped = models_dir() / MODEL_FILE
        checkpoint = str(shipped) if shipped.is_file() else ""
    try:      # the user's ~checkpoint, else the newest in ~checkpoint_dir that loads
        resumed = start_from(checkpoint, checkpoint_dir, load)
    except (CheckpointError, OSError) as exc:
        rospy.logfatal("cannot start: ~checkpoint: %s", exc)
        sys.exit(2)
    if resumed.skipped:
        rospy.logerr("segmenter: %s", resumed.describe())
    node = SegmenterNode(load, resumed.path, first=resumed.loaded,
                         default_max_hypotheses=cfg.inference.max_hypotheses,
                         viz_limit=cfg.ros.viz_limit, max_image_pixels=cfg.inference.max_image_pixels,
                         hypotheses_pub=rospy.Publisher("hypotheses", HypothesisArray, queue_size=2),
                         viz_pub=rospy.Publisher("~viz", Image, queue_size=1),
                         log=SimpleNamespace(info=rospy.loginfo, error=rospy.logerr))
    node.version = resumed.version
    rospy.Subscriber("frames", FrameSet, node.on_frames, queue_size=1, buff_size=2 ** 26)
    rospy.Subscriber("model_updates", ModelUpdate, node.on_update, queue_size=5)
    rospy.Service("segment", Segment, node.handle)
    rospy.loginfo("segmenter ready (model v%d, %s)", node.version, node.checkpoint or "untrained")
    rospy.spin()
