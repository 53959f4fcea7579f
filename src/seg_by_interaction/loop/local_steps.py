"""The interaction loop's steps by direct calls, in one process over the simulated arena
(no ROS): the arena's cameras, a Segmenter, PCA grasps, the simulated robot. Used by the
in-process learning loop (experiments/local_loop.py) and the rearrangement episodes."""
from __future__ import annotations

from seg_by_interaction.grasping import check_width, grasp_to_arena, plan_grasp
from seg_by_interaction.loop.algorithm import PlannedGrasp
from seg_by_interaction.perception.inference import Segmenter
from seg_by_interaction.robot.interface import PickPlaceOutcome
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.sim.robot import SimRobot
from seg_by_interaction.types import Frames, Hypothesis, Pose2D


class LocalSteps:
    """LoopSteps by direct calls: arena cameras, a Segmenter, PCA grasps, the sim robot."""

    def __init__(self, arena: Arena, robot: SimRobot, segmenter: Segmenter, cfg: dict,
                 ground_truth: bool = False):
        self.arena, self.robot, self.segmenter, self.cfg = arena, robot, segmenter, cfg
        self.model_version = 0
        self.ground_truth = ground_truth      # oracle-label ablation only: frames carry GT

    def capture(self) -> Frames:
        return self.arena.render(include_ground_truth=self.ground_truth)

    def segment(self, frames: Frames, camera: int):
        return self.segmenter.segment(frames.images[camera]), self.model_version

    def plan_grasp(self, hypothesis: Hypothesis, frames: Frames, camera: int) -> PlannedGrasp:
        g = plan_grasp(hypothesis.mask, self.cfg["grasping"]["min_pixels"])
        x, y, theta, width = grasp_to_arena(g, frames.cameras[camera])
        check_width(width, self.cfg["grasping"]["max_width"])
        return PlannedGrasp(g.u, g.v, g.angle, g.width_px, Pose2D(x, y, theta), width)

    def pick_place(self, pick: Pose2D, place: Pose2D) -> PickPlaceOutcome:
        return self.robot.pick_place(pick, place, on_held=self.capture)

    def reset(self, sweep: bool, new_background: bool) -> None:
        if new_background:
            self.arena.set_background(None)
        if sweep:
            self.robot.reset_sweep()
