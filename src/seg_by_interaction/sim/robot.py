"""The pick/place primitive on the simulated arena's floating gripper, in one process.

``robot.primitive.PickPlacePrimitive`` over ``SimGripperDriver``: the same primitive the
pick_place_server runs over the world node's driver service, here without ROS in
between (the single-process loop, experiments, tests).
"""
from __future__ import annotations

from seg_by_interaction.robot.primitive import PickPlacePrimitive
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.sim.gripper_driver import SimGripperDriver


class SimRobot(PickPlacePrimitive):
    def __init__(self, arena: Arena):
        self.arena = arena
        super().__init__(SimGripperDriver(arena), arena.cfg.robot.sim)

    def state(self) -> dict:
        g = self.arena.gripper
        return {"backend": "sim", "gripper_position": g.position.tolist(), "gripper_yaw": g.yaw,
                "gripper_gap": g.gap(), "sim_time": self.arena.time, "error": ""}
