"""Plain data types shared by the library's modules (no ROS, no torch).

Images are numpy arrays: RGB uint8 [H, W, 3]; masks bool [H, W]; ground-truth
instance maps int32 [H, W] with 0 = background and k > 0 = arena object id k.
Arena coordinates are metres in the table plane (origin at the arena centre,
z up, table surface at z = 0); angles are radians.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

if TYPE_CHECKING:   # annotation only: types is the bottom layer and imports no other module
    from seg_by_interaction.cameras.model import CameraModel


@dataclass(frozen=True)
class Pose2D:
    """A top-down pose on the arena plane: position (m) and yaw (rad)."""
    x: float
    y: float
    theta: float = 0.0


@dataclass
class Frames:
    """One synchronised shot of every camera (index = camera id)."""
    images: list[np.ndarray]
    stamp: float
    cameras: list[CameraModel]
    gt_instances: Optional[list[np.ndarray]] = None  # sim only; never for learning
    wire: Any = field(default=None, repr=False, compare=False)  # the message it came in (ROS)


@dataclass
class Hypothesis:
    """A segment the model believes might be one object."""
    mask: np.ndarray            # bool [H, W]
    score: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), pixels
    wire: Any = field(default=None, repr=False, compare=False)  # the message it came in (ROS)


@dataclass
class Example:
    """One training example, whatever produced it.

    ``mask`` is None for a negative ("nothing there"). ``pick_px`` is the (x, y)
    pixel the robot tried to pick at. ``source`` is one of SOURCES.
    """
    image: np.ndarray
    pick_px: tuple[float, float]
    mask: Optional[np.ndarray]
    source: str = "interaction"
    meta: dict = field(default_factory=dict)

    @property
    def positive(self) -> bool:
        return self.mask is not None


SOURCES = ("interaction", "passive", "ground_truth")
