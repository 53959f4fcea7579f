"""LoopRunner without a master: a failed step backs off and reuses the id, an unfinished
pick/place is not recorded, records are re-sent until receipted, the drain ends on the
last receipt, and the budget counts recorded interactions only."""
from __future__ import annotations

from seg_by_interaction.loop.counter import InteractionCounter
from seg_by_interaction.loop.outbox import Outbox
from seg_by_interaction.loop.runner import LoopRunner
from seg_by_interaction.robot.interface import OUTCOME_PLACED, OUTCOME_ROBOT_ERROR, PickPlaceOutcome


class Record:
    def __init__(self, iid, outcome):
        self.interaction_id, self.outcome = iid, PickPlaceOutcome(outcome)


class FakeLoop:
    """run_one() follows a script: 'ok', 'fail' (raises), 'error' (arm did not finish)."""

    def __init__(self, script):
        self.script, self.next_id = list(script), 0

    def run_one(self):
        what = self.script.pop(0)
        iid = self.next_id
        self.next_id += 1
        if what == "fail":
            raise RuntimeError("segment: node restarting")
        return Record(iid, OUTCOME_PLACED if what == "ok" else OUTCOME_ROBOT_ERROR)


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, dt):
        self.t += dt


def _runner(tmp_path, script, budget=3):
    clock, sent, slept = Clock(), [], []

    def sleep(dt):
        slept.append(dt)
        clock.sleep(dt)
    loop = FakeLoop(script)
    runner = LoopRunner(loop, InteractionCounter(tmp_path, "r0"), Outbox(10.0), lambda r: f"msg{r.interaction_id}",
                        sent.append, budget, retry_after=1.5, robot_id="r0", clock=clock, sleep=sleep)
    return runner, loop, clock, sent, slept


def test_failures_back_off_and_the_budget_counts_recorded_interactions(tmp_path):
    runner, loop, clock, sent, slept = _runner(tmp_path, ["ok", "fail", "error", "ok", "ok"])
    results = []
    while runner.wants_more():
        results.append(runner.step())
    assert [r is not None for r in results] == [True, False, False, True, True]
    assert sent == ["msg0", "msg1", "msg2"]                  # ids reused after failures
    assert slept == [1.5] and runner.failures == 1
    assert InteractionCounter(tmp_path, "r0").next_id == 3


def test_records_are_resent_until_receipted_and_drain_waits_for_them(tmp_path):
    runner, loop, clock, sent, _ = _runner(tmp_path, ["ok", "ok"], budget=2)
    runner.step()
    runner.step()
    runner.on_receipt("r0", 1)
    runner.on_receipt("other_robot", 0)                       # not ours: ignored
    clock.t += 11.0
    assert runner.resend_due() == 1 and sent[-1] == "msg0"
    assert runner.drain(timeout=5.0, poll=0.5) == 1           # no receipt: times out
    runner.on_receipt("r0", 0)
    assert runner.drain(timeout=5.0, poll=0.5) == 0
