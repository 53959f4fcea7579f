"""rearrangement_server: the Rearrange action (paper 6.3.1) over a robot's
capture/segment/pick_place: make the scene look like a target image.

The decisions live in ``seg_by_interaction.rearrangement.Rearranger``; this module turns
a goal into a call (validating the target image), reports progress as feedback, honours
preemption between interactions and answers every bad goal with an aborted result that
says why. The robot is reached through the interaction loop's ``RosLoopSteps``.
"""
from __future__ import annotations

import logging
import math
import threading
from typing import Any

from seg_by_interaction.msg import RearrangeFeedback, RearrangeResult
from seg_by_interaction.rearrangement.planner import RearrangementError
from seg_by_interaction.ros.conversions import ConversionError, msg_to_rgb

COLOUR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8")


def target_from_msg(msg):
    """The goal's target as RGB uint8, or ConversionError saying what is wrong."""
    if msg.height == 0 or msg.width == 0 or len(msg.data) == 0:
        raise ConversionError("target image is empty")
    if msg.encoding not in COLOUR_ENCODINGS:
        raise ConversionError(f"target image encoding '{msg.encoding}' is not a colour image "
                              f"(use {', '.join(COLOUR_ENCODINGS)})")
    return msg_to_rgb(msg)


class RearrangementNode:
    """The action's logic: ``execute(goal, server)`` ends the goal on ``server`` (what
    actionlib's SimpleActionServer offers); ``log`` has info/warning/error(fmt, *args)."""

    def __init__(self, planner, log: Any = None):
        self.planner = planner
        self.log = log or logging.getLogger(__name__)
        self._lock = threading.Lock()

    def _abort(self, server, message: str, **fields) -> None:
        self.log.warning("rearrange refused/failed: %s", message)
        server.set_aborted(RearrangeResult(success=False, message=message,
                                           final_distance_px=float("nan"),
                                           max_distance_px=float("nan"), **fields), message)

    def execute(self, goal, server) -> None:
        try:
            target = target_from_msg(goal.target)
        except ConversionError as exc:
            self._abort(server, str(exc))
            return

        def feedback(done: int, remaining: int, mean: float, status: str) -> None:
            server.publish_feedback(RearrangeFeedback(
                interactions=done, remaining=remaining,
                mean_distance_px=mean if math.isfinite(mean) else float("nan"), status=status))

        try:
            with self._lock:
                result = self.planner.run(target, int(goal.camera),
                                          max_interactions=int(goal.max_interactions) or None,
                                          feedback=feedback,
                                          should_stop=server.is_preempt_requested)
        except RearrangementError as exc:
            self._abort(server, str(exc))
            return
        except Exception as exc:   # a robot step failed (a node restarting): say so, stay up
            self.log.error("rearrange failed: %s", exc)
            self._abort(server, f"a robot step failed: {exc}")
            return
        out = RearrangeResult(success=result.success, final_distance_px=result.final_distance_px,
                              max_distance_px=result.max_distance_px,
                              interactions_used=result.interactions, matched=result.matched,
                              message=result.message)
        self.log.info("rearrange: %s after %d interactions (%s)",
                      "done" if result.success else "stopped", result.interactions, result.message)
        if result.preempted:
            server.set_preempted(out, result.message)
        elif result.success:
            server.set_succeeded(out, result.message)
        else:
            server.set_aborted(out, result.message)


def trunk_model(cfg, checkpoint: str, checkpoint_dir: str, log):
    from seg_by_interaction.perception.inference import load_segmenter
    from seg_by_interaction.training.online import start_from
    resumed = start_from(checkpoint, checkpoint_dir, lambda path: load_segmenter(path, cfg, device=cfg.device))
    log("trunk descriptor from " + resumed.describe())
    return resumed.loaded.model


def main():
    """~descriptor picks the segment descriptor (appearance | trunk); trunk features come from
    ~checkpoint, or the newest checkpoint in ~checkpoint_dir, or an untrained model."""
    from types import SimpleNamespace

    import actionlib
    import rospy

    from seg_by_interaction.msg import RearrangeAction
    from seg_by_interaction.rearrangement.planner import Rearranger
    from seg_by_interaction.ros.clients import RosLoopSteps
    from seg_by_interaction.ros.params import node_config, robot_workspace

    rospy.init_node("rearrangement_server")
    cfg = node_config()
    rc = cfg.rearrangement
    descriptor = rospy.get_param("~descriptor", rc.descriptor)
    model = trunk_model(cfg, rospy.get_param("~checkpoint", ""), rospy.get_param("~checkpoint_dir", ""),
                        rospy.loginfo) if descriptor == "trunk" else None
    # as many hypotheses as the library's planner sees; it keeps the best usable ones
    steps = RosLoopSteps(rospy.get_param("~robot_id", "robot0"),
                         float(rospy.get_param("~timeout", rc.timeout)),
                         cfg.inference.max_hypotheses, rc.min_score)
    planner = Rearranger.from_config(cfg, steps, descriptor, model=model,
                                     workspace=robot_workspace(rc.timeout))
    node = RearrangementNode(planner, SimpleNamespace(info=rospy.loginfo, warning=rospy.logwarn,
                                                      error=rospy.logerr))
    server = actionlib.SimpleActionServer("rearrange", RearrangeAction,
                                          execute_cb=lambda goal: node.execute(goal, server),
                                          auto_start=False)
    server.start()
    rospy.loginfo("rearrangement server ready (%s descriptor)", descriptor)
    rospy.spin()
