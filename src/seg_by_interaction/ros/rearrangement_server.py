"""rearrangement_server: the Rearrange action over a robot's capture/segment/pick_place.

The decisions live in ``seg_by_interaction.rearrangement.Rearranger``; this module turns
a goal into a call (validating the target image), reports progress as feedback, honours
preemption between interactions and answers every bad goal with an aborted result that
says why. The robot is reached through the interaction loop's ``RosLoopSteps``.
"""
from __future__ import annotations

import math
import threading

import actionlib
import rospy

from seg_by_interaction.msg import RearrangeAction, RearrangeFeedback, RearrangeResult
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


class RearrangementServer:
    def __init__(self, planner, steps=None, name: str = "rearrange"):
        self.planner = planner
        self.steps = steps          # RosLoopSteps: its per-call caches are cleared after a goal
        self._lock = threading.Lock()
        self.server = actionlib.SimpleActionServer(name, RearrangeAction,
                                                   execute_cb=self._execute, auto_start=False)
        self.server.start()

    def _abort(self, message: str, **fields) -> None:
        rospy.logwarn("rearrange refused/failed: %s", message)
        self.server.set_aborted(RearrangeResult(success=False, message=message,
                                                final_distance_px=float("nan"),
                                                max_distance_px=float("nan"), **fields), message)

    def _execute(self, goal) -> None:
        try:
            target = target_from_msg(goal.target)
        except ConversionError as exc:
            self._abort(str(exc))
            return

        def feedback(done: int, remaining: int, mean: float, status: str) -> None:
            self.server.publish_feedback(RearrangeFeedback(
                interactions=done, remaining=remaining,
                mean_distance_px=mean if math.isfinite(mean) else float("nan"), status=status))

        try:
            with self._lock:
                result = self.planner.run(target, int(goal.camera),
                                          max_interactions=int(goal.max_interactions) or None,
                                          feedback=feedback,
                                          should_stop=self.server.is_preempt_requested)
        except RearrangementError as exc:
            self._abort(str(exc))
            return
        except Exception as exc:   # a robot step failed (a node restarting): say so, stay up
            rospy.logerr("rearrange failed: %s", exc)
            self._abort(f"a robot step failed: {exc}")
            return
        out = RearrangeResult(success=result.success, final_distance_px=result.final_distance_px,
                              max_distance_px=result.max_distance_px,
                              interactions_used=result.interactions, matched=result.matched,
                              message=result.message)
        rospy.loginfo("rearrange: %s after %d interactions (%s)",
                      "done" if result.success else "stopped", result.interactions, result.message)
        if result.preempted:
            self.server.set_preempted(out, result.message)
        elif result.success:
            self.server.set_succeeded(out, result.message)
        else:
            self.server.set_aborted(out, result.message)
