"""What every camera backend offers: one synchronised shot of all cameras."""
from __future__ import annotations

import abc

from seg_by_interaction.types import CameraModel
from seg_by_interaction.types import Frames


class CameraRig(abc.ABC):
    @property
    @abc.abstractmethod
    def cameras(self) -> list[CameraModel]:
        """Calibrated model of each camera, index = camera id."""

    @abc.abstractmethod
    def capture(self, include_ground_truth: bool = False) -> Frames:
        """One shot of every camera. Ground truth exists in simulation only."""
