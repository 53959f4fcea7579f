"""The simulated arena's floating gripper as a GripperDriver (robot.driver).

The world node serves this over ROS (ros.nodes.sim_arena); experiments that run the loop
in one process use it directly through ``SimRobot``.
"""
from __future__ import annotations

from typing import Callable, Optional

from seg_by_interaction.robot.driver import GripperDriver, GripState
from seg_by_interaction.robot.sweep import sweep_points
from seg_by_interaction.sim.arena import Arena


class SimGripperDriver(GripperDriver):
    def __init__(self, arena: Arena):
        self.arena = arena
        self.r = arena.cfg.robot.sim

    @property
    def workspace(self) -> tuple[float, float, float, float]:
        return self.arena.workspace

    def move(self, x, y, tip_z, yaw=None, free=False, should_stop=None) -> bool:
        """``free``: nothing held, above the objects: the faster free-space speed."""
        g = self.arena.gripper
        speed = float(self.r.free_speed) if free else None
        return bool(self.arena.move_gripper([float(x), float(y), g.palm_z_for_tip(float(tip_z))],
                                            None if yaw is None else float(yaw),
                                            should_stop=should_stop, speed=speed))

    def set_jaws(self, opened: bool, seconds: float) -> None:
        g = self.arena.gripper
        gap = g.jaw_open if opened else 0.0
        if seconds > 0:
            self.arena.set_jaws(gap, float(seconds))
        else:
            g.set_gap(gap)

    def wait(self, seconds: float) -> None:
        self.arena.step(int(float(seconds) / self.arena.dt))

    def grip(self) -> GripState:
        g = self.arena.gripper
        held = self._holding()
        drop = 0.0
        if held is not None:
            lo, _ = self.arena.object_aabb(held)
            drop = max(0.0, g.tip_z() - float(lo[2]))
        return GripState(holding=held is not None, gap=float(g.gap()), drop=drop, object_id=held)

    def _holding(self) -> Optional[int]:
        """Arena id of the object squeezed between the jaws, or None (jaws shut on nothing)."""
        g = self.arena.gripper
        if g.gap() < float(self.r.min_grip_width):
            return None
        for body in g.touching():
            k = self.arena.object_id_of_body(body)
            if k is not None:
                return k
        return None

    def go_to(self, pose: str, should_stop: Optional[Callable[[], bool]] = None) -> bool:
        g = self.arena.gripper
        if pose == "home":
            return bool(self.arena.move_gripper([float(v) for v in self.r.home_position], g.yaw,
                                                should_stop=should_stop,
                                                speed=float(self.r.free_speed)))
        if pose == "held":
            return bool(self.arena.move_gripper([float(v) for v in self.r.held_position], None,
                                                should_stop=should_stop))
        raise ValueError(f"unknown pose {pose!r} (home, held)")

    def tip(self) -> tuple[float, float, float]:
        g = self.arena.gripper
        return float(g.position[0]), float(g.position[1]), float(g.tip_z())

    def stop(self) -> None:
        g = self.arena.gripper
        g.set_pose(g.position, g.yaw)

    def after_release(self, low_tip_z, travel_tip_z, should_stop=None) -> bool:
        """The jaws opened, yet an object rose with the arm: its collision hulls locked
        with the fingers (hollow models: a cap, a helmet; the solver holds both, the jaws
        can neither open nor close). A real object would drop; the simulation is made to
        let it: set it down again, stop the gripper colliding with it while the arm rises
        clear, then restore the contacts. True if that was needed (~4 % of releases of
        hollow models, measured over the library)."""
        import pybullet as p
        a, g = self.arena, self.arena.gripper
        stuck = self._stuck_object()
        if stuck is None:
            return False
        body = a.object_body(stuck)
        links = [-1] + list(range(p.getNumJoints(g.body, physicsClientId=a.cid)))
        x, y = float(g.position[0]), float(g.position[1])
        self.move(x, y, low_tip_z, should_stop=should_stop)
        for link in links:
            p.setCollisionFilterPair(g.body, body, link, -1, 0, physicsClientId=a.cid)
        try:
            self.move(x, y, travel_tip_z, should_stop=should_stop)
        finally:
            for link in links:
                p.setCollisionFilterPair(g.body, body, link, -1, 1, physicsClientId=a.cid)
        return True

    def _stuck_object(self) -> Optional[int]:
        """Arena id of an object touching the gripper clear of the table, or None."""
        import pybullet as p
        a, g = self.arena, self.arena.gripper
        for pt in p.getContactPoints(bodyA=g.body, physicsClientId=a.cid):
            k = a.object_id_of_body(pt[2])
            if k is not None and a.object_aabb(k)[0][2] > float(self.r.place_clearance):
                return k
        return None

    def sweep(self) -> None:
        """Sweep from each of 8 boundary points to the centre (the paper's reset)."""
        x0, x1, y0, y1 = self.workspace
        centre = ((x0 + x1) / 2, (y0 + y1) / 2)
        for pt in sweep_points(self.workspace, int(self.r.sweep_points)):
            self.arena.push(pt, centre)
        self.go_to("home")
        self.arena.settle(0.3)
