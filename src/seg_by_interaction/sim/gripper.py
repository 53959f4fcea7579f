"""A floating parallel-jaw gripper: a palm dragged along by a fixed constraint,
two prismatic fingers under force-limited position control, gear-coupled so the
jaws close symmetrically. Grasps succeed or fail by contact physics alone.
"""
from __future__ import annotations

import numpy as np
import pybullet as p


class FloatingGripper:
    def __init__(self, cid: int, cfg: dict, position):
        r = cfg.robot.sim
        self.cid = cid
        self.jaw_open = float(r.jaw_open)
        f = r.finger
        self.finger_length = float(f.length)
        self.finger_force = float(f.force)
        self.finger_velocity = float(f.max_velocity)
        px, py, pz = (float(v) for v in r.palm.size)
        self.palm_half_h = pz / 2
        self.constraint_force = float(r.constraint_force)
        th, dp, ln = float(f.thickness), float(f.depth), self.finger_length
        palm_col = p.createCollisionShape(p.GEOM_BOX, halfExtents=[px / 2, py / 2, pz / 2], physicsClientId=cid)
        palm_vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[px / 2, py / 2, pz / 2],
                                       rgbaColor=[0.25, 0.25, 0.28, 1], physicsClientId=cid)
        cols, viss = [], []
        for side in (+1, -1):   # finger box sits outside its joint frame so gap = 2 q
            off = [0, side * th / 2, 0]
            cols.append(p.createCollisionShape(p.GEOM_BOX, halfExtents=[dp / 2, th / 2, ln / 2],
                                               collisionFramePosition=off, physicsClientId=cid))
            viss.append(p.createVisualShape(p.GEOM_BOX, halfExtents=[dp / 2, th / 2, ln / 2],
                                            visualFramePosition=off, rgbaColor=[0.75, 0.75, 0.78, 1],
                                            physicsClientId=cid))
        joint_at = [0, 0, -pz / 2 - ln / 2]
        self.body = p.createMultiBody(
            baseMass=float(r.palm.mass), baseCollisionShapeIndex=palm_col,
            baseVisualShapeIndex=palm_vis, basePosition=position,
            linkMasses=[0.05, 0.05], linkCollisionShapeIndices=cols, linkVisualShapeIndices=viss,
            linkPositions=[joint_at, joint_at], linkOrientations=[[0, 0, 0, 1]] * 2,
            linkInertialFramePositions=[[0, 0, 0]] * 2, linkInertialFrameOrientations=[[0, 0, 0, 1]] * 2,
            linkParentIndices=[0, 0], linkJointTypes=[p.JOINT_PRISMATIC] * 2,
            linkJointAxis=[[0, 1, 0], [0, -1, 0]], physicsClientId=cid)
        for j in (0, 1):
            p.changeDynamics(self.body, j, lateralFriction=1.2, spinningFriction=0.01,
                             jointLowerLimit=0.0, jointUpperLimit=self.jaw_open / 2, physicsClientId=cid)
        gear = p.createConstraint(self.body, 0, self.body, 1, p.JOINT_GEAR, [0, 1, 0], [0, 0, 0], [0, 0, 0],
                                  physicsClientId=cid)
        p.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=self.finger_force * 2, physicsClientId=cid)
        self.fix = p.createConstraint(self.body, -1, -1, -1, p.JOINT_FIXED, [0, 0, 0], [0, 0, 0], position,
                                      physicsClientId=cid)
        self.position = np.asarray(position, float)
        self.yaw = 0.0
        self.set_pose(position, 0.0)
        self.set_gap(self.jaw_open)
        for j in (0, 1):
            p.resetJointState(self.body, j, self.jaw_open / 2, physicsClientId=cid)

    # the pose commanded for the palm centre, and the fingertip height it implies
    def palm_z_for_tip(self, tip_z: float) -> float:
        return tip_z + self.palm_half_h + self.finger_length

    def tip_z(self) -> float:
        return float(self.position[2] - self.palm_half_h - self.finger_length)

    def set_pose(self, position, yaw: float) -> None:
        self.position = np.asarray(position, float)
        self.yaw = float(yaw)
        p.changeConstraint(self.fix, jointChildPivot=self.position.tolist(),
                           jointChildFrameOrientation=p.getQuaternionFromEuler([0, 0, self.yaw]),
                           maxForce=self.constraint_force, physicsClientId=self.cid)

    def teleport(self, position, yaw: float) -> None:
        p.resetBasePositionAndOrientation(self.body, list(position), p.getQuaternionFromEuler([0, 0, yaw]),
                                          physicsClientId=self.cid)
        p.resetBaseVelocity(self.body, [0, 0, 0], [0, 0, 0], physicsClientId=self.cid)
        self.set_pose(position, yaw)

    def set_gap(self, gap: float) -> None:
        q = float(np.clip(gap, 0.0, self.jaw_open)) / 2
        for j in (0, 1):
            p.setJointMotorControl2(self.body, j, p.POSITION_CONTROL, targetPosition=q,
                                    force=self.finger_force, maxVelocity=self.finger_velocity,
                                    physicsClientId=self.cid)

    def gap(self) -> float:
        return float(sum(p.getJointState(self.body, j, physicsClientId=self.cid)[0] for j in (0, 1)))

    def touching(self) -> set[int]:
        """Bodies in contact with both fingers (what the jaws are squeezing)."""
        sides = []
        for j in (0, 1):
            pts = p.getContactPoints(bodyA=self.body, linkIndexA=j, physicsClientId=self.cid)
            sides.append({c[2] for c in pts if c[2] != self.body})
        return sides[0] & sides[1]
