"""Rearrange the scene until it looks like a target image (paper 6.3.1).

Segment the target once and the current view after every move, describe and match
the segments, then pick the matched pair that is farthest apart and place the current
segment's object where its target segment lies; stop when every matched pair is within
the tolerance (15 px) or the budget (10 interactions) is spent.

The planner only decides. Its steps are a subset of the interaction loop's own
(``LoopSteps``: capture, segment, pick_place): ``LocalSteps`` calls the arena and a
Segmenter directly, ``RosLoopSteps`` calls the robot's services and pick_place action,
so the same code runs in the evaluation and behind the ROS action server. Pick and
place poses are the PCA grasps of the two segments through the captured camera model
(``geometry.segment_pose``): the place pose is the target segment's grasp, so the
object's offset from the grasp point and its orientation carry over.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol, Sequence, Union

import numpy as np

from seg_by_interaction.rearrangement.descriptors import (Descriptor, make_descriptor,
                                                          rejection_threshold)
from seg_by_interaction.rearrangement.geometry import reachable, segment_pose
from seg_by_interaction.rearrangement.matching import (Match, centroid, cost_matrix,
                                                       match_segments, pixel_distances)
from seg_by_interaction.robot.interface import OUTCOME_PLACED, PickPlaceOutcome
from seg_by_interaction.types import Frames, Hypothesis, Pose2D

log = logging.getLogger(__name__)

Workspace = tuple[float, float, float, float]
# feedback(interactions done, pairs still too far, mean matched distance px, status text)
Feedback = Callable[[int, int, float, str], None]


class RearrangeSteps(Protocol):
    def capture(self) -> Frames: ...
    def segment(self, frames: Frames, camera: int) -> tuple[list[Hypothesis], int]: ...
    def pick_place(self, pick: Pose2D, place: Pose2D) -> PickPlaceOutcome: ...


class RearrangementError(ValueError):
    """A goal that cannot be worked on (bad image or camera, nothing to match)."""


@dataclass
class Move:
    """One pick/place of the episode."""
    current: int
    target: int
    distance_px: float
    pick: Pose2D
    place: Pose2D
    outcome: int
    object_in_gripper: bool


@dataclass
class RearrangeResult:
    """How an episode ended, judged by the robot's own segments."""
    success: bool                 # every matched pair within the tolerance
    interactions: int
    final_distance_px: float      # mean over the matched pairs at the end (nan: none matched)
    max_distance_px: float
    matched: int
    message: str
    preempted: bool = False
    moves: list[Move] = field(default_factory=list)


@dataclass
class Segments:
    """One image's usable hypotheses with their descriptors and pixel centroids."""
    frames: Frames
    hypotheses: list[Hypothesis]
    descriptors: np.ndarray
    centroids: np.ndarray


def check_camera(frames: Frames, camera) -> int:
    n = len(frames.images)
    if isinstance(camera, bool) or not isinstance(camera, (int, np.integer)) or not 0 <= camera < n:
        raise RearrangementError(f"camera {camera} does not exist (the robot has {n}: 0..{n - 1})")
    return int(camera)


def target_frames(frames: Frames, target: Union[np.ndarray, Frames], camera: int) -> Frames:
    """The target as a frame set of the current rig: ``target`` replaces camera ``camera``'s
    image (a Frames target, e.g. rendered with ground truth, is used as it is)."""
    want = frames.images[camera].shape
    if isinstance(target, Frames):
        got = target.images[camera].shape if camera < len(target.images) else None
        if got != want:
            raise RearrangementError(f"target frame set does not match camera {camera} ({want})")
        return target
    image = np.asarray(target)
    if image.size == 0:
        raise RearrangementError("target image is empty")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise RearrangementError(f"target must be an RGB uint8 image [H, W, 3], got "
                                 f"{image.dtype} {image.shape}")
    if image.shape != want:
        raise RearrangementError(f"target image is {image.shape[1]}x{image.shape[0]} but camera "
                                 f"{camera} gives {want[1]}x{want[0]} images")
    images = list(frames.images)
    images[camera] = image
    return Frames(images=images, stamp=frames.stamp, cameras=frames.cameras, gt_instances=None)


class Rearranger:
    """Match segments between the current view and a target image; move the farthest pair."""

    def __init__(self, steps: RearrangeSteps, describe: Descriptor, threshold: float,
                 tolerance_px: float, max_interactions: int, max_attempts: int,
                 max_segments: int, min_score: float, min_pixels: int, max_fraction: float,
                 plane_height: float = 0.0, workspace: Optional[Workspace] = None,
                 workspace_slack: float = 0.0, *, grasp_min_pixels: int):
        self.steps = steps
        self.describe = describe
        self.grasp_min_pixels = int(grasp_min_pixels)    # grasping.min_pixels
        self.threshold = float(threshold)
        self.tolerance = float(tolerance_px)
        self.max_interactions = int(max_interactions)
        self.max_attempts = int(max_attempts)
        self.max_segments = int(max_segments)
        self.min_score = float(min_score)
        self.min_pixels = int(min_pixels)
        self.max_fraction = float(max_fraction)
        self.plane_height = float(plane_height)
        self.workspace = None if workspace is None else tuple(float(v) for v in workspace)
        self.slack = float(workspace_slack)

    @classmethod
    def from_config(cls, cfg: dict, steps: RearrangeSteps, descriptor: Optional[str] = None,
                    model=None, workspace: Optional[Workspace] = None) -> "Rearranger":
        """From the ``rearrangement`` section; ``model`` feeds the trunk descriptor."""
        rc = cfg.rearrangement
        name = descriptor or rc.descriptor
        return cls(steps, make_descriptor(name, rc, model), rejection_threshold(name, rc),
                   rc.tolerance_px, rc.max_interactions, rc.max_attempts_per_object,
                   rc.max_segments, rc.min_score, rc.min_segment_pixels,
                   rc.max_segment_fraction, rc.grasp_plane_height,
                   workspace if workspace is not None else cfg.arena.workspace,
                   rc.workspace_slack, grasp_min_pixels=cfg.grasping.min_pixels)

    # ------------------------------------------------------------ perception
    def usable(self, hypotheses: Sequence[Hypothesis], image_pixels: int) -> list[Hypothesis]:
        """The best-scoring hypotheses that could be one graspable object."""
        keep = []
        for h in sorted(hypotheses, key=lambda h: -h.score):
            area = int(np.count_nonzero(h.mask))
            if (h.score >= self.min_score and area >= self.min_pixels
                    and area <= self.max_fraction * image_pixels):
                keep.append(h)
            if len(keep) == self.max_segments:
                break
        return keep

    def segments(self, frames: Frames, camera: int) -> Segments:
        image = frames.images[camera]
        hyps, _ = self.steps.segment(frames, camera)
        hyps = self.usable(hyps, image.shape[0] * image.shape[1])
        desc = self.describe(image, [h.mask for h in hyps])
        cents = np.array([centroid(h.mask) for h in hyps]).reshape(-1, 2)
        return Segments(frames, hyps, desc, cents)

    def match(self, current: Segments, target: Segments) -> tuple[list[Match], np.ndarray]:
        matches = match_segments(cost_matrix(current.descriptors, target.descriptors),
                                 self.threshold)
        return matches, pixel_distances(matches, current.centroids, target.centroids)

    def _pose(self, segs: Segments, index: int, camera: int) -> Optional[Pose2D]:
        try:
            pose = segment_pose(segs.hypotheses[index].mask, segs.frames.cameras[camera],
                                self.grasp_min_pixels, self.plane_height)
        except ValueError as exc:
            log.info("segment %d has no grasp: %s", index, exc)
            return None
        out = reachable(pose, self.workspace, self.slack)
        if out is None:
            log.info("segment %d lies outside the workspace at (%.3f, %.3f)", index, pose.x, pose.y)
        return out

    # ------------------------------------------------------------ the episode
    def run(self, target: Union[np.ndarray, Frames], camera: int,
            max_interactions: Optional[int] = None, feedback: Optional[Feedback] = None,
            should_stop: Optional[Callable[[], bool]] = None) -> RearrangeResult:
        """Rearrange until the view of ``camera`` matches ``target``.

        RearrangementError for a goal that cannot be started: camera out of range, a
        target of another size or type, no usable segment in the target or current view.
        """
        budget = self.max_interactions if not max_interactions else int(max_interactions)
        frames = self.steps.capture()
        camera = check_camera(frames, camera)
        tgt = self.segments(target_frames(frames, target, camera), camera)
        if not tgt.hypotheses:
            raise RearrangementError("no objects found in the target image")
        attempts: Counter = Counter()
        moves: list[Move] = []
        target_pose: dict[int, Optional[Pose2D]] = {}
        while True:
            cur = self.segments(frames, camera)
            if not cur.hypotheses:
                if not moves:
                    raise RearrangementError("no objects found in the current image")
                return RearrangeResult(False, len(moves), float("nan"), float("nan"), 0,
                                       "no objects found in the current image any more",
                                       moves=moves)
            matches, dist = self.match(cur, tgt)
            far = [i for i in np.argsort(-dist) if dist[i] > self.tolerance]
            mean = float(dist.mean()) if len(dist) else float("nan")
            biggest = float(dist.max()) if len(dist) else float("nan")
            if feedback is not None:
                feedback(len(moves), len(far), mean,
                         f"{len(matches)} of {len(cur.hypotheses)} segments matched, "
                         f"{len(far)} farther than {self.tolerance:g} px")
            if not matches:
                return RearrangeResult(False, len(moves), mean, biggest, 0,
                                       "no segment of the current view matches the target",
                                       moves=moves)
            if not far:
                return RearrangeResult(True, len(moves), mean, biggest, len(matches),
                                       f"all {len(matches)} matched segments within "
                                       f"{self.tolerance:g} px", moves=moves)
            if len(moves) >= budget:
                return RearrangeResult(False, len(moves), mean, biggest, len(matches),
                                       f"budget of {budget} interactions spent; {len(far)} "
                                       f"segments still too far", moves=moves)
            if should_stop is not None and should_stop():
                return RearrangeResult(False, len(moves), mean, biggest, len(matches),
                                       "preempted", preempted=True, moves=moves)
            move = None
            for i in far:   # farthest first; skip pairs tried too often or not graspable
                m = matches[int(i)]
                if attempts[m.target] >= self.max_attempts:
                    continue
                if m.target not in target_pose:
                    target_pose[m.target] = self._pose(tgt, m.target, camera)
                place = target_pose[m.target]
                pick = self._pose(cur, m.current, camera) if place is not None else None
                if pick is None:
                    attempts[m.target] = self.max_attempts
                    continue
                move = (m, float(dist[int(i)]), pick, place)
                break
            if move is None:
                return RearrangeResult(False, len(moves), mean, biggest, len(matches),
                                       f"{len(far)} segments still too far, none left to try "
                                       f"(ungraspable or tried {self.max_attempts} times)",
                                       moves=moves)
            m, d, pick, place = move
            attempts[m.target] += 1
            outcome = self.steps.pick_place(pick, place)
            moves.append(Move(m.current, m.target, d, pick, place, outcome.outcome,
                              bool(outcome.object_in_gripper)))
            if outcome.outcome != OUTCOME_PLACED:
                log.warning("pick/place outcome %d: %s", outcome.outcome, outcome.message)
            frames = self.steps.capture()
