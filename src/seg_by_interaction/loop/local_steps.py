"""The interaction loop's steps by direct calls, in one process, no ROS: a world's cameras, a
segmenter, PCA grasps, a robot. The world and the robot are given (the simulated arena and
its SimRobot in the research loop and the rearrangement episodes; anything with the same
methods elsewhere), so the loop does not depend on the simulator."""
from __future__ import annotations

from typing import Optional, Protocol

from seg_by_interaction.grasping import check_width, grasp_to_arena, plan_grasp
from seg_by_interaction.loop.algorithm import PlannedGrasp
from seg_by_interaction.robot.interface import PickPlaceOutcome, Robot
from seg_by_interaction.types import Frames, Hypothesis, Pose2D


class World(Protocol):
    """What the steps need of the world the cameras look at."""
    def render(self, include_ground_truth: bool = False) -> Frames: ...
    def set_background(self, index: Optional[int]) -> object: ...


class FrameSegmenter(Protocol):
    def segment(self, image) -> list[Hypothesis]: ...


class LocalSteps:
    """LoopSteps by direct calls: the world's cameras, a segmenter, PCA grasps, the robot."""

    def __init__(self, world: World, robot: Robot, segmenter: Optional[FrameSegmenter],
                 cfg: dict, ground_truth: bool = False):
        self.arena, self.robot, self.segmenter, self.cfg = world, robot, segmenter, cfg
        self.model_version = 0
        self.ground_truth = ground_truth      # oracle-label ablation only: frames carry GT

    def capture(self) -> Frames:
        return self.arena.render(include_ground_truth=self.ground_truth)

    def segment(self, frames: Frames, camera: int):
        return self.segmenter.segment(frames.images[camera]), self.model_version

    def plan_grasp(self, hypothesis: Hypothesis, frames: Frames, camera: int) -> PlannedGrasp:
        g = plan_grasp(hypothesis.mask, self.cfg.grasping.min_pixels)
        x, y, theta, width = grasp_to_arena(g, frames.cameras[camera])
        check_width(width, self.cfg.grasping.max_width)
        return PlannedGrasp(g.u, g.v, g.angle, g.width_px, Pose2D(x, y, theta), width)

    def pick_place(self, pick: Pose2D, place: Pose2D) -> PickPlaceOutcome:
        return self.robot.pick_place(pick, place, on_held=self.capture)

    def reset(self, sweep: bool, new_background: bool) -> None:
        if new_background:
            self.arena.set_background(None)
        if sweep:
            self.robot.reset_sweep()
