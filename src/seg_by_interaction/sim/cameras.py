"""The arena's four cameras behind the CameraRig interface."""
from __future__ import annotations

from seg_by_interaction.cameras.interface import CameraRig
from seg_by_interaction.types import CameraModel
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.types import Frames


class SimCameraRig(CameraRig):
    def __init__(self, arena: Arena):
        self.arena = arena

    @property
    def cameras(self) -> list[CameraModel]:
        return self.arena.cameras

    def capture(self, include_ground_truth: bool = False) -> Frames:
        return self.arena.render(include_ground_truth=include_ground_truth)
