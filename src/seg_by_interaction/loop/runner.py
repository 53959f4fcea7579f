"""One robot's interaction loop as a long-running process: ids that survive restarts,
at-least-once delivery of records, back-off when a step fails, a drain at the end.

The interaction_coordinator node only wires this to ROS (the steps, a publisher, the
receipts); everything it decides lives here and is tested without a master.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

from seg_by_interaction.loop.algorithm import InteractionLoop, InteractionRecord
from seg_by_interaction.loop.counter import InteractionCounter
from seg_by_interaction.loop.outbox import Outbox
from seg_by_interaction.robot.interface import OUTCOME_PLACED


class LoopRunner:
    """``to_message(record)`` builds what is sent; ``publish(message)`` sends it."""

    def __init__(self, loop: InteractionLoop, counter: InteractionCounter, outbox: Outbox,
                 to_message: Callable[[InteractionRecord], Any], publish: Callable[[Any], None],
                 budget: int, retry_after: float, robot_id: str,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, log: Any = None):
        """``log``: anything with warning/error(fmt, *args) (a node passes rospy's)."""
        self.loop, self.counter, self.outbox = loop, counter, outbox
        self.to_message, self.publish = to_message, publish
        self.budget, self.retry_after = int(budget), float(retry_after)
        self.robot_id = robot_id
        self.clock, self.sleep = clock, sleep
        self.failures = 0
        self.log = log or logging.getLogger(__name__)

    def wants_more(self) -> bool:
        return self.budget == 0 or self.loop.next_id < self.budget

    def on_receipt(self, robot_id: str, interaction_id: int) -> None:
        if robot_id == self.robot_id:
            self.outbox.receipt(int(interaction_id))

    def resend_due(self) -> int:
        due = self.outbox.due(self.clock())
        for iid, msg in due:
            self.log.warning("[%s] no receipt for interaction %d: sending it again", self.robot_id, iid)
            self.publish(msg)
        return len(due)

    def step(self) -> Optional[InteractionRecord]:
        """One interaction; the sent record, or None when nothing was recorded (a failed
        step backs off; an arm that did not finish yields nothing to learn from). Either
        way the id is not used up, so the budget counts recorded interactions."""
        self.resend_due()
        try:
            record = self.loop.run_one()
        except Exception as exc:  # a failed step (a node restarting): log, back off, retry
            self.failures += 1
            self.log.error("[%s] interaction failed: %s", self.robot_id, exc)
            self.loop.next_id = self.counter.next_id
            self.sleep(self.retry_after)
            return None
        outcome = record.outcome
        if outcome.outcome != OUTCOME_PLACED:
            self.log.warning("[%s] interaction %d not recorded: pick/place outcome %d (%s)",
                        self.robot_id, record.interaction_id, outcome.outcome, outcome.message)
            self.loop.next_id = self.counter.next_id
            return None
        msg = self.to_message(record)
        # id first (never reused), then the record on disk, then the wire
        self.counter.advance(record.interaction_id + 1)
        self.outbox.sent(record.interaction_id, msg, self.clock())
        self.publish(msg)
        return record

    def drain(self, timeout: float, poll: float, stop: Callable[[], bool] = lambda: False) -> int:
        """Wait until every record is receipted (resending as due); the number left."""
        deadline = self.clock() + float(timeout)
        while len(self.outbox) and self.clock() < deadline and not stop():
            self.resend_due()
            self.sleep(poll)
        return len(self.outbox)
