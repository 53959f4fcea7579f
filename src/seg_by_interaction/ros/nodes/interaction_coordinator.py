"""interaction_coordinator: Algorithm 1 - capture, segment, pick a hypothesis at random,
grasp, place, publish.

Runs until this robot has made ~interactions in ~data_dir (0 = forever), then publishes
True on the latched ``loop_done``. Interaction ids continue across restarts (a counter file
in ~data_dir), so a respawned coordinator never reuses one and the budget holds. Records
stay in an outbox until the labeller's receipt arrives on ``labelled`` and are re-sent
otherwise (kept on disk under ~data_dir/outbox), so no restarted node loses one. The
decisions live in seg_by_interaction.loop (LoopRunner, InteractionLoop).
"""
from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Optional

from seg_by_interaction.data.disk import RESUME_MARGIN, room_problem
from seg_by_interaction.loop.algorithm import InteractionLoop, InteractionRecord, LoopSteps
from seg_by_interaction.loop.counter import InteractionCounter
from seg_by_interaction.loop.outbox import Outbox
from seg_by_interaction.loop.runner import LoopRunner
from seg_by_interaction.training.initial_model import started_from_model


class CoordinatorNode:
    """One robot's loop over any ``LoopSteps``: ``publish(message)`` sends a record built by
    ``to_message``; ``encode``/``decode`` keep unreceipted ones on disk."""

    def __init__(self, cfg, data_dir: str | Path, robot_id: str, budget: int, steps: LoopSteps,
                 workspace, to_message: Callable[[InteractionRecord], Any],
                 publish: Callable[[Any], None], encode: Callable, decode: Callable,
                 seed: Optional[int] = None, log: Any = None):
        lc = cfg.loop
        self.robot_id, self.budget = robot_id, int(budget)
        self.data_dir = Path(data_dir)
        counter = InteractionCounter(self.data_dir, robot_id)
        self.outbox = Outbox(lc.resend_after, directory=self.data_dir / "outbox" / robot_id,
                             encode=encode, decode=decode)
        self.restored = self.outbox.restore(time.monotonic())
        # a run started from a model adapts: it also tries what the model misses
        self.adapting = started_from_model(self.data_dir)
        self.loop = InteractionLoop(cfg, steps, workspace=workspace,
                                    seed=(cfg.seed if seed is None else seed) + counter.next_id,
                                    start_id=counter.next_id,
                                    explore_fraction=cfg.adapt.explore_fraction if self.adapting else 0.0)
        min_free = cfg.ros.record.min_free_mb
        self.runner = LoopRunner(
            self.loop, counter, self.outbox, to_message, publish, self.budget, lc.retry_after,
            robot_id, log=log, disk_ok=lambda: room_problem(
                self.data_dir, min_free * (RESUME_MARGIN if self.runner.paused else 1.0)))
        self.drain_timeout, self.drain_poll = lc.drain_timeout, lc.drain_poll

    def on_receipt(self, robot_id: str, interaction_id: int, failed: bool, retry: bool) -> None:
        self.runner.on_receipt(robot_id, interaction_id, failed, retry)

    def describe(self, record: InteractionRecord) -> str:
        """One log line per interaction: what was tried, with which model, how long it took."""
        steps = ", ".join(f"{k} {v:.2f}" for k, v in record.meta.get("step_seconds", {}).items())
        return (f"[{self.robot_id}] interaction {record.interaction_id} ({self.loop.next_id}/"
                f"{self.budget or 'inf'}): camera {record.camera}, {record.num_hypotheses} hypotheses, "
                f"model v{record.model_version}"
                f"{', a proposal the model missed' if record.meta.get('explored') else ''}, "
                f"in gripper {record.outcome.object_in_gripper}, "
                f"{record.seconds:.1f} s ({steps})")

    def run(self, stop: Callable[[], bool], report: Callable[[str], None]) -> None:
        """Interact until the budget is spent or ``stop()``; ``report`` gets each record's line."""
        while not stop() and self.runner.wants_more():
            record = self.runner.step()
            if record is not None:
                report(self.describe(record))

    def drain(self, stop: Callable[[], bool], timeout: Optional[float] = None) -> int:
        """Wait for the last receipts; how many records still have none."""
        return self.runner.drain(self.drain_timeout if timeout is None else timeout,
                                 self.drain_poll, stop=stop)


def main():
    import rospy
    from std_msgs.msg import Bool

    from seg_by_interaction.msg import Interaction, InteractionLabelled
    from seg_by_interaction.ros.clients import RosLoopSteps
    from seg_by_interaction.ros.interaction_codec import from_disk, packer_from_config, to_disk
    from seg_by_interaction.ros.params import node_config, robot_workspace

    rospy.init_node("interaction_coordinator")
    cfg = node_config()
    robot_id = rospy.get_param("~robot_id", "robot0")
    budget = int(rospy.get_param("~interactions", 0))
    timeout = float(rospy.get_param("~timeout", cfg.loop.step_timeout))
    pub = rospy.Publisher("interactions", Interaction, queue_size=100)
    done_pub = rospy.Publisher("loop_done", Bool, queue_size=1, latch=True)
    done_pub.publish(False)
    packer = packer_from_config(cfg)
    steps = RosLoopSteps(robot_id, timeout, cfg.inference.max_hypotheses,
                         cfg.inference.score_threshold)
    node = CoordinatorNode(cfg, rospy.get_param("~data_dir"), robot_id, budget, steps,
                           robot_workspace(timeout), steps.record_to_msg, pub.publish,
                           encode=lambda m: to_disk(m, packer), decode=from_disk,
                           seed=int(rospy.get_param("~seed", cfg.seed)),
                           log=SimpleNamespace(info=rospy.loginfo, warning=rospy.logwarn,
                                               error=rospy.logerr))
    if node.restored:
        rospy.logwarn("[%s] %d records of a previous run have no receipt yet: resending",
                      robot_id, node.restored)
    for path, why in node.outbox.unreadable:
        rospy.logerr("[%s] outbox file %s does not decode (%s): moved aside, not resent",
                     robot_id, path, why)
    rospy.Subscriber("labelled", InteractionLabelled,
                     lambda m: node.on_receipt(m.robot_id, m.interaction_id, m.failed, m.retry),
                     queue_size=100)
    node.run(rospy.is_shutdown, rospy.loginfo)
    if budget and not rospy.is_shutdown():
        # Done only once the labeller has receipted every record.
        left = node.drain(rospy.is_shutdown, float(rospy.get_param("~drain_timeout",
                                                                   cfg.loop.drain_timeout)))
        if left:
            rospy.logwarn("[%s] %d records still without a receipt", robot_id, left)
        rospy.loginfo("[%s] done: %d interactions in all", robot_id, node.loop.next_id)
        done_pub.publish(True)
        rospy.spin()
