"""One robot's interaction loop as a long-running process: ids that survive restarts,
at-least-once delivery of records, back-off when a step fails, a pause while the disk is
full, a drain at the end.

A full disk never loses a record: a record is kept (in memory when it cannot be written)
until the labeller receipts it, a labeller that cannot store it answers "retry" and it is
sent again later, and while ``disk_ok`` says no the robot stops interacting (one message)
and resumes by itself when space is back.

The interaction_coordinator node only wires this to ROS (the steps, a publisher, the
receipts); everything it decides lives here and is tested without a master.
"""
from __future__ import annotations

import errno
import logging
import time
from typing import Any, Callable, Optional

from seg_by_interaction.loop.algorithm import InteractionLoop, InteractionRecord
from seg_by_interaction.loop.counter import InteractionCounter
from seg_by_interaction.loop.outbox import Outbox
from seg_by_interaction.robot.interface import OUTCOME_PLACED


_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _FULL


class LoopRunner:
    """``to_message(record)`` builds what is sent; ``publish(message)`` sends it."""

    def __init__(self, loop: InteractionLoop, counter: InteractionCounter, outbox: Outbox,
                 to_message: Callable[[InteractionRecord], Any], publish: Callable[[Any], None],
                 budget: int, retry_after: float, robot_id: str,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, log: Any = None,
                 disk_ok: Callable[[], Optional[str]] = lambda: None):
        """``log``: anything with info/warning/error(fmt, *args) (a node passes rospy's).
        ``disk_ok()``: None while there is room to record, else why not (a message)."""
        self.loop, self.counter, self.outbox = loop, counter, outbox
        self.to_message, self.publish = to_message, publish
        self.budget, self.retry_after = int(budget), float(retry_after)
        self.robot_id = robot_id
        self.clock, self.sleep = clock, sleep
        self.disk_ok = disk_ok
        self.failures = 0
        self.paused: Optional[str] = None      # why the loop is paused, while it is
        self.log = log or logging.getLogger(__name__)
        pending = outbox.keys()
        if pending:                             # ids of unreceipted records are taken
            counter.at_least(pending[-1] + 1)
            loop.next_id = max(loop.next_id, counter.next_id)

    def wants_more(self) -> bool:
        return self.budget == 0 or self.loop.next_id < self.budget

    def on_receipt(self, robot_id: str, interaction_id: int, failed: bool = False,
                   retry: bool = False) -> None:
        """The labeller's answer: done (or refused for good), or "retry later" (its store
        could not take the record): then the record stays and is sent again."""
        if robot_id != self.robot_id:
            return
        if failed and retry:
            self.outbox.defer(int(interaction_id), self.clock())
        else:
            self.outbox.receipt(int(interaction_id))

    def resend_due(self) -> int:
        due = self.outbox.due(self.clock())
        if due:
            ids = [iid for iid, _ in due]
            self.log.warning("[%s] no receipt yet for %d record%s (%s): sending again",
                             self.robot_id, len(ids), "s" if len(ids) > 1 else "",
                             ", ".join(map(str, ids[:8])) + (" ..." if len(ids) > 8 else ""))
        for _, msg in due:
            self.publish(msg)
        return len(due)

    def _keep_on_disk(self) -> Optional[str]:
        """Write what is still only in memory (records, the counter); why not, if it failed."""
        try:
            self.outbox.persist()
            if self.counter.dirty:
                self.counter.advance(self.counter.next_id)
        except OSError as exc:
            if not disk_full(exc):
                raise
            return f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
        return None

    def _check_room(self) -> bool:
        """True when the loop may interact; pauses (and says so once) when it may not."""
        why = self.disk_ok() or self._keep_on_disk()
        if why is not None:
            if self.paused is None:
                self.log.error("[%s] disk full (%s): the loop is paused, %d unlabelled records "
                               "are kept and resent; it resumes by itself when space is back",
                               self.robot_id, why, len(self.outbox))
            self.paused = why
            return False
        if self.paused is not None:
            self.log.info("[%s] space is back: the loop resumes (%d records to deliver)",
                          self.robot_id, len(self.outbox))
            self.paused = None
        return True

    def step(self) -> Optional[InteractionRecord]:
        """One interaction; the sent record, or None when nothing was recorded (a failed
        step backs off; an arm that did not finish yields nothing to learn from; a full
        disk pauses). Either way the id is not used up, so the budget counts recorded
        interactions."""
        self.resend_due()
        if not self._check_room():
            self.sleep(self.retry_after)
            return None
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
        # the record first (kept in memory if the disk refuses), then its id, then the wire
        try:
            self.outbox.sent(record.interaction_id, msg, self.clock())
            self.counter.advance(record.interaction_id + 1)
        except OSError as exc:
            if not disk_full(exc):
                raise
            self.counter.next_id = max(self.counter.next_id, record.interaction_id + 1)
            self._check_room()       # pauses with one message; the record is kept in memory
        self.publish(msg)
        return record

    def drain(self, timeout: float, poll: float, stop: Callable[[], bool] = lambda: False) -> int:
        """Wait until every record is receipted (resending as due); the number left."""
        deadline = self.clock() + float(timeout)
        while len(self.outbox) and self.clock() < deadline and not stop():
            self.resend_due()
            self.sleep(poll)
        return len(self.outbox)
