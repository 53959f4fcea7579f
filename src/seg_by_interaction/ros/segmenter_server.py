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

import threading
from typing import Callable

import numpy as np
import rospy
from sensor_msgs.msg import Image

from seg_by_interaction.msg import FrameSet, HypothesisArray, ModelUpdate
from seg_by_interaction.ros.conversions import (ConversionError, check_image_size,
                                                hypothesis_to_msg, msg_to_rgb, rgb_to_msg)
from seg_by_interaction.srv import Segment, SegmentResponse
from seg_by_interaction.visualization import overlay_hypotheses


class SegmenterServer:
    def __init__(self, load: Callable[[str | None], object], checkpoint: str | None,
                 default_max_hypotheses: int, viz_limit: int, max_image_pixels: int,
                 first: object = None):
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
        self.hyp_pub = rospy.Publisher("hypotheses", HypothesisArray, queue_size=2)
        self.viz_pub = rospy.Publisher("~viz", Image, queue_size=1)
        rospy.Subscriber("frames", FrameSet, self._on_frames, queue_size=1, buff_size=2 ** 26)
        rospy.Subscriber("model_updates", ModelUpdate, self._on_update, queue_size=5)
        self.service = rospy.Service("segment", Segment, self._handle)

    def _on_frames(self, msg: FrameSet):
        self._latest = msg

    def _on_update(self, msg: ModelUpdate):
        threading.Thread(target=self._reload, args=(msg,), daemon=True).start()

    @staticmethod
    def update_problem(msg: ModelUpdate) -> str | None:
        """Why a ModelUpdate cannot be used, or None."""
        if not msg.checkpoint.strip():
            return "it names no checkpoint (empty path)"
        if msg.version == 0:
            return "version 0 is the untrained model's"
        return None

    def _reload(self, msg: ModelUpdate):
        problem = self.update_problem(msg)
        if problem is not None:
            rospy.logerr("refused model update v%d: %s; keeping model v%d", msg.version,
                         problem, self.version)
            return
        if msg.version <= self.version:
            rospy.loginfo("ignored model update v%d: already running v%d", msg.version,
                          self.version)
            return
        try:
            segmenter = self._load(msg.checkpoint)
        except Exception as exc:
            rospy.logerr("keeping model v%d: cannot load %s: %s", self.version, msg.checkpoint, exc)
            return
        with self._lock:
            if msg.version > self.version:
                self.segmenter, self.version, self.checkpoint = segmenter, msg.version, msg.checkpoint
        rospy.loginfo("segmenter now runs model v%d (%s)", msg.version, msg.checkpoint)

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

    def _handle(self, req) -> SegmentResponse:
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
        if self.hyp_pub.get_num_connections() > 0:
            self.hyp_pub.publish(out)
        if self.viz_pub.get_num_connections() > 0:  # overlays only for someone watching
            self.viz_pub.publish(rgb_to_msg(overlay_hypotheses(image, hyps, self.viz_limit),
                                            header))
        return SegmentResponse(success=True, message=f"{len(hyps)} hypotheses (model v{version})",
                               hypotheses=out)
