"""What every robot backend offers: the paper's pick/place primitive and the reset sweep.

Code above this interface (ROS servers, the coordinator) never knows whether a
simulated arena or a real Sawyer runs.
"""
from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from seg_by_interaction.types import Pose2D

# Outcome codes; equal to PickPlaceResult.OUTCOME_* in action/PickPlace.action. 0 is
# "unknown" (a default-constructed result, e.g. of a recalled goal), never success.
OUTCOME_UNKNOWN = 0
OUTCOME_PLACED = 1
OUTCOME_UNREACHABLE = 2
OUTCOME_ROBOT_ERROR = 3
OUTCOME_PREEMPTED = 4
OUTCOME_INVALID_GOAL = 5
MAX_ABS_THETA = 2 * math.pi     # goal angles beyond +-2 pi are refused (degrees sent as radians)

PHASES = ("approach", "descend", "close", "lift", "held", "place", "release", "retreat")


@dataclass
class PickPlaceOutcome:
    outcome: int
    message: str = ""
    object_in_gripper: bool = False
    held_result: Any = None          # whatever the on_held hook returned (e.g. Frames)
    pick_seconds: float = 0.0
    place_seconds: float = 0.0
    extra: dict = field(default_factory=dict)


class Robot(abc.ABC):
    """A top-down parallel-jaw pick/place robot over the arena plane."""

    @property
    @abc.abstractmethod
    def workspace(self) -> tuple[float, float, float, float]:
        """Reachable arena rectangle (xmin, xmax, ymin, ymax), metres."""

    @abc.abstractmethod
    def pick_place(self, pick: Pose2D, place: Pose2D,
                   on_held: Optional[Callable[[], Any]] = None,
                   feedback: Optional[Callable[[str, float], None]] = None,
                   should_stop: Optional[Callable[[], bool]] = None) -> PickPlaceOutcome:
        """Approach from above at pick (jaws closing along pick.theta), grasp, lift,
        move out of every camera's view and call ``on_held`` there, place, retreat.
        ``feedback(phase, progress)`` reports each phase; ``should_stop()`` true
        means preempt: stop safely and return OUTCOME_PREEMPTED."""

    @abc.abstractmethod
    def reset_sweep(self) -> None:
        """The paper's automatic reset: sweep from 8 boundary points to the centre."""

    @abc.abstractmethod
    def home(self) -> None:
        """Move to a pose that leaves every camera's view clear."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop moving now (shutdown, preemption)."""

    def state(self) -> dict:
        return {}

    def in_workspace(self, pose: Pose2D) -> bool:
        xmin, xmax, ymin, ymax = self.workspace
        return xmin <= pose.x <= xmax and ymin <= pose.y <= ymax

    def check_goal(self, pick: Pose2D, place: Pose2D) -> Optional[PickPlaceOutcome]:
        """The outcome that refuses a goal (non-finite or unreachable pose), or None."""
        for pose, what in ((pick, "pick"), (place, "place")):
            if not all(math.isfinite(v) for v in (pose.x, pose.y, pose.theta)):
                return PickPlaceOutcome(OUTCOME_INVALID_GOAL, f"{what} pose is not finite: {pose}")
            if abs(pose.theta) > MAX_ABS_THETA:
                return PickPlaceOutcome(OUTCOME_INVALID_GOAL,
                                        f"{what} theta {pose.theta:g} rad is not an angle of a "
                                        f"turn or two (|theta| <= 2 pi): a unit mix-up?")
        for pose, what in ((pick, "pick"), (place, "place")):
            if not self.in_workspace(pose):
                return PickPlaceOutcome(OUTCOME_UNREACHABLE,
                                        f"{what} ({pose.x:.3f}, {pose.y:.3f}) is outside the "
                                        f"workspace {tuple(round(v, 3) for v in self.workspace)}")
        return None
