"""loop.reuse_after_shot: an interaction's I_t+1 serves as the next one's I_t (Algorithm 1),
except after a reset or a pick/place that did not finish, when the scene is shot again."""
from __future__ import annotations

import numpy as np

from seg_by_interaction.config import load_config
from seg_by_interaction.loop.algorithm import InteractionLoop
from seg_by_interaction.robot.interface import OUTCOME_PLACED, OUTCOME_ROBOT_ERROR, PickPlaceOutcome
from seg_by_interaction.types import Frames


class CountingSteps:
    def __init__(self, outcomes):
        self.captures, self.resets, self.outcomes = 0, 0, list(outcomes)

    def capture(self):
        self.captures += 1
        return Frames(images=[np.full((4, 4, 3), self.captures, np.uint8)], stamp=float(self.captures),
                      cameras=[None])

    def segment(self, frames, camera):
        return [], 1

    def plan_grasp(self, hypothesis, frames, camera):
        raise ValueError("no hypotheses here")

    def pick_place(self, pick, place):
        return PickPlaceOutcome(self.outcomes.pop(0))

    def reset(self, sweep, new_background):
        self.resets += 1


def _loop(reuse: bool, outcomes, reset_every=1000):
    cfg = load_config(overrides={"loop.reuse_after_shot": reuse, "arena.reset_every": reset_every,
                                 "arena.background_every": 1000, "loop.camera": 0, "arena.num_cameras": 1})
    steps = CountingSteps(outcomes)
    return InteractionLoop(cfg, steps, workspace=(-0.2, 0.2, -0.2, 0.2), seed=0), steps


def test_the_after_shot_is_the_next_before_shot():
    loop, steps = _loop(True, [OUTCOME_PLACED] * 3)
    records = [loop.run_one() for _ in range(3)]
    assert steps.captures == 4                                   # 1 + one per interaction
    assert records[1].before is records[0].after and records[2].before is records[1].after
    loop, steps = _loop(False, [OUTCOME_PLACED] * 3)
    [loop.run_one() for _ in range(3)]
    assert steps.captures == 6                                   # the option off: two each


def test_a_reset_or_an_unfinished_pick_place_takes_a_new_shot():
    loop, steps = _loop(True, [OUTCOME_PLACED, OUTCOME_ROBOT_ERROR, OUTCOME_PLACED, OUTCOME_PLACED],
                        reset_every=3)
    r = [loop.run_one() for _ in range(4)]
    assert r[1].before is r[0].after                             # placed: reused
    assert r[2].before is not r[1].after                         # robot error before: new shot
    assert steps.resets == 1 and r[3].before is not r[2].after   # reset after the 3rd: new shot
    assert steps.captures == 4 + 3


def test_each_record_says_where_its_time_went(monkeypatch):
    """meta.step_seconds: one entry per step the interaction ran, captures summed (the log
    line and the profile in the README read it). The loop's clock is replaced by one that
    only the steps advance, each by its own power of two, so every entry must be exactly
    the time of its own step(s)."""
    import types

    from seg_by_interaction.loop import algorithm
    now = [0.0]
    monkeypatch.setattr(algorithm, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    cost = {"capture": 1.0, "segment": 2.0, "pick_place": 4.0, "reset": 8.0}

    class TimedSteps(CountingSteps):
        def capture(self):
            now[0] += cost["capture"]
            return super().capture()

        def segment(self, frames, camera):
            now[0] += cost["segment"]
            return super().segment(frames, camera)

        def pick_place(self, pick, place):
            now[0] += cost["pick_place"]
            return super().pick_place(pick, place)

        def reset(self, sweep, new_background):
            now[0] += cost["reset"]
            return super().reset(sweep, new_background)

    cfg = load_config(overrides={"loop.reuse_after_shot": True, "arena.reset_every": 2,
                                 "arena.background_every": 1000, "loop.camera": 0, "arena.num_cameras": 1})
    steps = TimedSteps([OUTCOME_PLACED] * 3)
    loop = InteractionLoop(cfg, steps, workspace=(-0.2, 0.2, -0.2, 0.2), seed=0)
    first, second, third = loop.run_one(), loop.run_one(), loop.run_one()
    # the first shoots before and after (2 captures), the second reuses the first's after
    # shot (1 capture) and resets, the third shoots again after that reset (2 captures)
    assert first.meta["step_seconds"] == {"capture": 2.0, "segment": 2.0, "pick_place": 4.0}
    assert second.meta["step_seconds"] == {"capture": 1.0, "segment": 2.0, "pick_place": 4.0,
                                           "reset": 8.0}
    assert third.meta["step_seconds"] == {"capture": 2.0, "segment": 2.0, "pick_place": 4.0}
    # the record's own seconds cover its steps, not the reset that follows it
    assert (first.seconds, second.seconds, third.seconds) == (8.0, 7.0, 8.0)
    assert steps.captures == 5 and steps.resets == 1
