"""The low-level calls a pick/place primitive makes of a top-down parallel-jaw gripper.

Heights are the fingertips' height over the table, so the primitive never needs to know
a gripper's geometry. The simulated world implements this in-process
(``sim.gripper_driver.SimGripperDriver``) and serves it over ROS to the pick_place_server
(``ros.clients.WorldGripperClient``), the way a real arm's driver serves its arm.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Callable, Optional


class DriverError(RuntimeError):
    """A driver call that failed with a known outcome (robot.interface OUTCOME_*):
    unreachable (no IK solution), robot error (a move failed, e-stop)."""

    def __init__(self, outcome: int, message: str):
        super().__init__(message)
        self.outcome = outcome


@dataclass
class GripState:
    holding: bool                # the jaws stopped on something (gap above the minimum)
    gap: float                   # m between the jaws
    drop: float = 0.0            # m from the fingertips down to the held object's bottom
    object_id: Optional[int] = None   # the world's id of what is held (sim diagnostics only)


class GripperDriver(abc.ABC):
    @property
    @abc.abstractmethod
    def workspace(self) -> tuple[float, float, float, float]:
        """Reachable rectangle (xmin, xmax, ymin, ymax) of the table, metres."""

    @abc.abstractmethod
    def move(self, x: float, y: float, tip_z: float, yaw: Optional[float] = None,
             free: bool = False, should_stop: Optional[Callable[[], bool]] = None) -> bool:
        """Move the fingertips to (x, y, tip_z); ``yaw`` None keeps the jaws' yaw; ``free``:
        nothing held, clear of the objects (the faster speed). False if stopped early."""

    @abc.abstractmethod
    def set_jaws(self, opened: bool, seconds: float) -> None:
        """Open wide or close with the fixed force, waiting ``seconds`` (0: do not wait)."""

    @abc.abstractmethod
    def wait(self, seconds: float) -> None:
        """Let the world go on for ``seconds`` (a held object stops swinging)."""

    @abc.abstractmethod
    def grip(self) -> GripState:
        """What the jaws hold now."""

    @abc.abstractmethod
    def go_to(self, pose: str, should_stop: Optional[Callable[[], bool]] = None) -> bool:
        """A named pose: ``home`` (every camera's view clear) or ``held`` (carrying an object
        out of every view). False if stopped early."""

    @abc.abstractmethod
    def tip(self) -> tuple[float, float, float]:
        """Where the fingertips are now (x, y, tip_z)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop moving now."""

    def prepare(self, targets: list[tuple[float, float, float, float, str]]) -> None:
        """Check every (x, y, tip_z, yaw, what) the primitive will visit before it moves;
        raise DriverError to refuse (a real arm: solve IK for all first). Default: nothing."""

    def safe_stop(self, travel_tip_z: float, open_seconds: float) -> None:
        """After a preemption: open the jaws where they are, rise, go home (the simulated
        gripper). A real arm may rather hold where it is."""
        self.set_jaws(True, open_seconds)
        x, y, z = self.tip()
        self.move(x, y, max(z, travel_tip_z))
        self.go_to("home")

    def after_release(self, low_tip_z: float, travel_tip_z: float,
                      should_stop: Optional[Callable[[], bool]] = None) -> bool:
        """Called once the jaws opened and rose: a world may need to free an object that
        did not drop. True if something was done. Real arms: nothing to do."""
        return False

    def sweep(self) -> None:
        """The reset sweep from the workspace boundary to its centre (the paper's reset)."""
        raise NotImplementedError("this driver cannot sweep the table")
