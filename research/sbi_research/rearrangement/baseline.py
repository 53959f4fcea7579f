"""The no-segmentation baseline: move the most-changed region of the difference image.

Without segments the robot can still see *where* the current view differs from the
target (the labeller's lighting-robust change map, ``labeling.difference``), but not
which changed region holds an object and which is the spot it left. So it picks at
the largest changed region and places at the other changed region whose target-image
appearance best matches what the picked region shows now. A pick that closes on
nothing marks its region as an empty spot (the gripper knows whether it holds
something); picks avoid empty spots, places may use them. It stops when no changed
region is left (its own success), when no pick is left to try, or after the budget.
"""
from __future__ import annotations

import logging
from typing import Callable, Optional, Union

import cv2
import numpy as np

from seg_by_interaction.labeling.difference import change_map, clean_change
from seg_by_interaction.rearrangement.descriptors import AppearanceDescriptor
from seg_by_interaction.rearrangement.geometry import reachable, segment_pose
from seg_by_interaction.rearrangement.matching import centroid, cost_matrix
from seg_by_interaction.rearrangement.planner import (Feedback, Move, RearrangeResult,
                                                      RearrangeSteps, check_camera, target_frames)
from seg_by_interaction.robot.interface import OUTCOME_PLACED
from seg_by_interaction.types import Frames, Pose2D

log = logging.getLogger(__name__)


def changed_regions(current: np.ndarray, target: np.ndarray, labeling_cfg: dict,
                    min_pixels: int) -> list[np.ndarray]:
    """Connected changed regions (bool masks) between two views, largest first."""
    if current.shape != target.shape:
        raise ValueError(f"images differ in size: {current.shape} vs {target.shape}")
    changed = clean_change(change_map(current, target, labeling_cfg), labeling_cfg)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8), connectivity=8)
    order = sorted(range(1, n), key=lambda k: -stats[k, cv2.CC_STAT_AREA])
    return [labels == k for k in order if stats[k, cv2.CC_STAT_AREA] >= min_pixels]


class DifferenceRearranger:
    """Same goal and result as ``Rearranger``, from the difference image alone."""

    def __init__(self, steps: RearrangeSteps, labeling_cfg: dict, describe: AppearanceDescriptor,
                 min_pixels: int, tolerance_px: float, max_interactions: int, max_attempts: int,
                 plane_height: float = 0.0, workspace=None, workspace_slack: float = 0.0, *,
                 grasp_min_pixels: int):
        self.steps = steps
        self.grasp_min_pixels = int(grasp_min_pixels)    # grasping.min_pixels
        self.labeling_cfg = labeling_cfg
        self.describe = describe
        self.min_pixels = int(min_pixels)
        self.tolerance = float(tolerance_px)
        self.max_interactions = int(max_interactions)
        self.max_attempts = int(max_attempts)
        self.plane_height = float(plane_height)
        self.workspace = None if workspace is None else tuple(float(v) for v in workspace)
        self.slack = float(workspace_slack)

    @classmethod
    def from_config(cls, cfg: dict, steps: RearrangeSteps, workspace=None) -> "DifferenceRearranger":
        rc = cfg.rearrangement
        return cls(steps, cfg.labeling, AppearanceDescriptor.from_config(rc),
                   rc.baseline.min_pixels, rc.tolerance_px, rc.max_interactions,
                   rc.max_attempts_per_object, rc.grasp_plane_height,
                   workspace if workspace is not None else cfg.arena.workspace,
                   rc.workspace_slack, grasp_min_pixels=cfg.grasping.min_pixels)

    def _pose(self, mask: np.ndarray, frames: Frames, camera: int) -> Optional[Pose2D]:
        try:
            pose = segment_pose(mask, frames.cameras[camera], self.grasp_min_pixels,
                                self.plane_height)
        except ValueError:
            return None
        return reachable(pose, self.workspace, self.slack)

    def _near(self, xy: np.ndarray, spots: list[np.ndarray]) -> int:
        return sum(1 for s in spots if np.linalg.norm(xy - s) <= self.tolerance)

    def run(self, target: Union[np.ndarray, Frames], camera: int,
            max_interactions: Optional[int] = None, feedback: Optional[Feedback] = None,
            should_stop: Optional[Callable[[], bool]] = None) -> RearrangeResult:
        budget = self.max_interactions if not max_interactions else int(max_interactions)
        frames = self.steps.capture()
        camera = check_camera(frames, camera)
        goal = target_frames(frames, target, camera)
        goal_image = goal.images[camera]
        empty: list[np.ndarray] = []     # centroids where a pick closed on nothing
        tried: list[np.ndarray] = []     # centroids of every pick
        moves: list[Move] = []
        nan = float("nan")
        while True:
            image = frames.images[camera]
            regions = changed_regions(image, goal_image, self.labeling_cfg, self.min_pixels)
            cents = [centroid(r) for r in regions]
            if feedback is not None:
                feedback(len(moves), len(regions), nan, f"{len(regions)} changed regions")
            if not regions:
                return RearrangeResult(True, len(moves), nan, nan, 0, "no changed region left",
                                       moves=moves)
            if len(moves) >= budget:
                return RearrangeResult(False, len(moves), nan, nan, 0,
                                       f"budget of {budget} interactions spent; "
                                       f"{len(regions)} changed regions left", moves=moves)
            if should_stop is not None and should_stop():
                return RearrangeResult(False, len(moves), nan, nan, 0, "preempted",
                                       preempted=True, moves=moves)
            picks = [i for i in range(len(regions))
                     if not self._near(cents[i], empty) and self._near(cents[i], tried) < self.max_attempts]
            if not picks or len(regions) < 2:
                return RearrangeResult(False, len(moves), nan, nan, 0,
                                       f"{len(regions)} changed regions, none left to move",
                                       moves=moves)
            now = self.describe(image, regions)
            then = self.describe(goal_image, regions)
            cost = cost_matrix(now, then)
            move = None
            for i in picks:                   # largest region first
                pick = self._pose(regions[i], frames, camera)
                if pick is None:
                    tried.extend([cents[i]] * self.max_attempts)
                    continue
                for j in np.argsort(cost[i]):
                    if j == i:
                        continue
                    place = self._pose(regions[int(j)], goal, camera)
                    if place is not None:
                        move = (i, int(j), pick, place)
                        break
                if move is not None:
                    break
            if move is None:
                return RearrangeResult(False, len(moves), nan, nan, 0,
                                       "no graspable changed region left", moves=moves)
            i, j, pick, place = move
            tried.append(cents[i])
            outcome = self.steps.pick_place(pick, place)
            if not outcome.object_in_gripper:
                empty.append(cents[i])
            moves.append(Move(i, j, float(np.linalg.norm(cents[i] - cents[j])), pick, place,
                              outcome.outcome, bool(outcome.object_in_gripper)))
            if outcome.outcome != OUTCOME_PLACED:
                log.warning("pick/place outcome %d: %s", outcome.outcome, outcome.message)
            frames = self.steps.capture()
