"""Algorithm 1 of the paper: capture, hypothesise, pick one at random, grasp, place, record.

The loop only decides; the steps (capture, segment, plan a grasp, pick/place, reset)
are supplied by the caller: ROS service/action proxies in the coordinator node, plain
library calls in experiments and tests. Labelling and training consume the records.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

import numpy as np

from seg_by_interaction.robot.interface import OUTCOME_PLACED, PickPlaceOutcome
from seg_by_interaction.types import Frames, Hypothesis, Pose2D

log = logging.getLogger(__name__)


@dataclass
class PlannedGrasp:
    """A grasp in the segmented camera's pixels and on the arena plane."""
    u: float
    v: float
    angle: float
    width_px: float
    pose: Pose2D
    width_m: float


class LoopSteps(Protocol):
    def capture(self) -> Frames: ...
    def segment(self, frames: Frames, camera: int) -> tuple[list[Hypothesis], int]: ...
    def plan_grasp(self, hypothesis: Hypothesis, frames: Frames, camera: int) -> PlannedGrasp: ...
    def pick_place(self, pick: Pose2D, place: Pose2D) -> PickPlaceOutcome: ...
    def reset(self, sweep: bool, new_background: bool) -> None: ...


@dataclass
class InteractionRecord:
    """Everything one pick/place produced (the library twin of Interaction.msg)."""
    interaction_id: int
    camera: int
    model_version: int
    before: Frames
    held: Optional[Frames]
    after: Frames
    hypothesis: Optional[Hypothesis]
    hypothesis_index: int
    num_hypotheses: int
    grasp: Optional[PlannedGrasp]
    pick: Pose2D
    place: Pose2D
    outcome: PickPlaceOutcome
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


class _StepTimer:
    """Seconds spent in each step of one interaction (summed over repeats), so a log or a
    benchmark can say where an interaction's time goes."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, step: str):
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.seconds[step] = self.seconds.get(step, 0.0) + time.monotonic() - t0


CHOICES = ("random", "uncertain")


def hypothesis_order(hyps: list[Hypothesis], rng: np.random.Generator, choice: str) -> np.ndarray:
    """The order in which hypotheses are tried (the first reachable one is picked).

    ``random``: the paper's uniform choice. ``uncertain``: drawn without replacement with
    probability ~ p (1 - p) of the score p, so hypotheses the model is least sure of (p
    near 0.5) are tested first and sure ones (either way) rarely: the outcome of testing
    them teaches most."""
    n = len(hyps)
    if choice == "random" or n <= 1:
        return rng.permutation(n)
    p = np.clip(np.array([h.score for h in hyps], float), 0.0, 1.0)
    w = p * (1.0 - p) + 1e-3
    keys = rng.random(n) ** (1.0 / w)            # weighted sampling without replacement
    return np.argsort(-keys)


class InteractionLoop:
    """Runs interactions one at a time; keeps counters for resets and backgrounds."""

    def __init__(self, cfg: dict, steps: LoopSteps, workspace, seed: int = 0,
                 start_id: int = 0, explore_fraction: float = 0.0,
                 missed: Optional[Callable[[np.ndarray, list], list]] = None):
        lc = cfg.loop
        self.steps = steps
        self.workspace = tuple(float(v) for v in workspace)
        self.rng = np.random.default_rng(seed)
        self.next_id = int(start_id)
        self.camera_choice = lc.camera
        self.choice = str(lc.choice)
        if self.choice not in CHOICES:
            raise ValueError(f"loop.choice must be one of {CHOICES}, got {self.choice!r}")
        self.place_margin = float(lc.place_margin)
        self.reuse_after_shot = bool(lc.reuse_after_shot)
        self._next_before: Optional[Frames] = None   # I_t+1 of the last interaction
        self.explore_when_empty = bool(lc.explore_when_empty)
        self.reset_every = int(cfg.arena.reset_every)
        self.background_every = int(cfg.arena.background_every)
        self.num_cameras = int(cfg.arena.num_cameras)
        # adapting (a run started from a model): sometimes try what the model misses
        self.explore_fraction = float(explore_fraction)
        if not 0.0 <= self.explore_fraction <= 1.0:
            raise ValueError(f"explore_fraction must be in [0, 1], got {explore_fraction}")
        if self.explore_fraction > 0 and missed is None:
            from seg_by_interaction.loop.exploration import MissedProposals
            missed = MissedProposals(cfg)
        self.missed = missed

    def _random_pose(self, margin: float) -> Pose2D:
        xmin, xmax, ymin, ymax = self.workspace
        return Pose2D(float(self.rng.uniform(xmin + margin, xmax - margin)),
                      float(self.rng.uniform(ymin + margin, ymax - margin)),
                      float(self.rng.uniform(0.0, np.pi)))

    def _in_workspace(self, pose: Pose2D) -> bool:
        xmin, xmax, ymin, ymax = self.workspace
        return xmin <= pose.x <= xmax and ymin <= pose.y <= ymax

    def _first_reachable(self, candidates, order, before: Frames, camera: int, timer=None):
        """(index, hypothesis, grasp) of the first candidate in ``order`` with a grasp the arm
        can reach, or None; each planning call timed as "plan_grasp" when ``timer`` is given."""
        for idx in order:
            try:
                with (timer("plan_grasp") if timer is not None else nullcontext()):
                    candidate = self.steps.plan_grasp(candidates[idx], before, camera)
            except ValueError as exc:
                log.debug("hypothesis %d has no grasp: %s", idx, exc)
                continue
            if self._in_workspace(candidate.pose):
                return int(idx), candidates[idx], candidate
        return None

    def _choose_camera(self) -> int:
        if self.camera_choice == "random":
            return int(self.rng.integers(self.num_cameras))
        return int(self.camera_choice)

    def run_one(self) -> InteractionRecord:
        """One interaction (Algorithm 1, lines 3-7), then resets when due."""
        t0 = time.monotonic()
        timer = _StepTimer()
        iid = self.next_id
        self.next_id += 1
        before, self._next_before = self._next_before, None
        if before is None:
            with timer("capture"):
                before = self.steps.capture()
        camera = self._choose_camera()
        with timer("segment"):
            hyps, version = self.steps.segment(before, camera)
        hypothesis, index, grasp = None, -1, None
        explored = False
        found = None
        if self.explore_fraction > 0 and self.rng.random() < self.explore_fraction:
            with timer("explore"):
                missed = self.missed(before.images[camera], hyps)
                found = self._first_reachable(missed, self.rng.permutation(len(missed)),
                                              before, camera)      # one at random, as line 5
            if found is not None:
                hypothesis, grasp, explored = found[1], found[2], True
        # Line 5: one hypothesis at random (loop.choice); skip ones the arm cannot reach.
        if not explored:
            found = self._first_reachable(hyps, hypothesis_order(hyps, self.rng, self.choice),
                                          before, camera, timer=timer)
            if found is not None:
                index, hypothesis, grasp = found
        if grasp is not None:
            pick = grasp.pose
        elif self.explore_when_empty:
            pick = self._random_pose(self.place_margin)  # nothing plausible: explore
        else:
            raise RuntimeError("the segmenter proposed no reachable hypothesis")
        place = self._random_pose(self.place_margin)
        with timer("pick_place"):
            outcome = self.steps.pick_place(pick, place)
        held = outcome.held_result if isinstance(outcome.held_result, Frames) else None
        with timer("capture"):
            after = self.steps.capture()
        record = InteractionRecord(
            interaction_id=iid, camera=camera, model_version=version, before=before,
            held=held, after=after, hypothesis=hypothesis, hypothesis_index=index,
            num_hypotheses=len(hyps), grasp=grasp, pick=pick, place=place, outcome=outcome,
            seconds=time.monotonic() - t0, meta={"step_seconds": timer.seconds,
                                                  "explored": explored})
        done = iid + 1
        sweep = self.reset_every > 0 and done % self.reset_every == 0
        new_bg = self.background_every > 0 and done % self.background_every == 0
        if sweep or new_bg:
            with timer("reset"):
                self.steps.reset(sweep=sweep, new_background=new_bg)
        elif self.reuse_after_shot and outcome.outcome == OUTCOME_PLACED:
            self._next_before = after     # Algorithm 1: I_t+1 is the next interaction's I_t
        if outcome.outcome != OUTCOME_PLACED:
            log.warning("interaction %d: pick/place outcome %d (%s)", iid, outcome.outcome,
                        outcome.message)
        return record
