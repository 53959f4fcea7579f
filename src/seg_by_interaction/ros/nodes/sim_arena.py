"""sim_arena: the simulated world (PyBullet), as Gazebo is for a real robot's nodes.

It publishes what the sensors would: ``camN/image_raw`` on each software trigger
(``trigger_cameras``) and, latched, ``camN/camera_info`` stamped like the shot (the cameras
move with a new scene when arena.cameras.vary is on); it takes the gripper driver's
low-level commands (``gripper_command``) from the same pick_place_server that drives a real
arm; and it offers the arena's own services (``reset_arena``: new scene, background, the
reset sweep). Ground truth goes only to ``debug/camN/instances`` (mono16, arena ids), which
nothing in the learning path subscribes to. camera_capture and pick_place_server run on
top, as on the Sawyer.
"""
from __future__ import annotations

import math
import threading
from typing import Callable

from seg_by_interaction.cameras.interface import CameraRig
from seg_by_interaction.robot.driver import GripperDriver
from seg_by_interaction.srv import (GripperCommandRequest, GripperCommandResponse,
                                    ResetArenaRequest, ResetArenaResponse, TriggerCamerasResponse)
from seg_by_interaction.types import Frames

# what a caller is told when a request arrives while the node closes (not the request's fault)
SHUTTING_DOWN = "the simulated world is shutting down"


class WorldNode:
    """The world's three services over one lock (a shot, a gripper command and a reset never
    interleave, and nothing runs while PyBullet disconnects).

    ``publish_shot(frames, shot_number, stamp)`` sends a rendered shot (images, camera
    models, ground truth when asked for); ``now()`` is the world's clock (the shot's stamp);
    ``wants_ground_truth()`` says whether anyone listens to the ground truth; ``closing()``
    is true once the node shuts down."""

    def __init__(self, rig: CameraRig, driver: GripperDriver, arena, robot, reach: float,
                 max_tip_height: float, max_seconds: float,
                 publish_shot: Callable[[Frames, int, object], None], now: Callable[[], object],
                 wants_ground_truth: Callable[[], bool] = lambda: False,
                 closing: Callable[[], bool] = lambda: False,
                 log_error: Callable[[str], None] = lambda text: None):
        """``reach``: |x|, |y| limit of gripper targets (half the table); a command beyond
        the limits is refused, never run (a move to x = 100 m would run for minutes)."""
        self.rig, self.driver, self.arena, self.robot = rig, driver, arena, robot
        self.reach, self.max_tip_height = float(reach), float(max_tip_height)
        self.max_seconds = float(max_seconds)
        self.publish_shot, self.now, self.wants_ground_truth = publish_shot, now, wants_ground_truth
        self.closing, self.log_error = closing, log_error
        self.lock = threading.RLock()
        self.shots = 0

    # ------------------------------------------------------------ trigger_cameras
    def trigger(self, _req=None) -> TriggerCamerasResponse:
        """Render every camera once and publish the images with one stamp."""
        try:
            with self.lock:
                frames = self.rig.capture(include_ground_truth=self.wants_ground_truth())
                stamp = self.now()
                self.shots += 1
                shot = self.shots
            self.publish_shot(frames, shot, stamp)
        except Exception as exc:  # the node stays up; the caller learns why
            if self.closing():
                return TriggerCamerasResponse(success=False, message=SHUTTING_DOWN)
            self.log_error(f"camera trigger failed: {exc}")
            return TriggerCamerasResponse(success=False, message=f"render failed: {exc}")
        return TriggerCamerasResponse(success=True, message=f"shot {shot}", stamp=stamp)

    # ------------------------------------------------------------ gripper_command
    def gripper(self, req) -> GripperCommandResponse:
        """One low-level command of the gripper driver, validated first."""
        try:
            with self.lock:
                return self._command(req)
        except (ValueError, TypeError) as exc:
            return GripperCommandResponse(success=False, message=str(exc), object_id=-1)
        except Exception as exc:  # the world stays up; the backend reports a robot error
            if self.closing():    # the world has closed; not a fault of the command
                return GripperCommandResponse(success=False, object_id=-1, message=SHUTTING_DOWN)
            self.log_error(f"gripper_command {req.command} failed: {exc}")
            return GripperCommandResponse(success=False, message=f"{type(exc).__name__}: {exc}",
                                          object_id=-1)

    def _command(self, req) -> GripperCommandResponse:
        d, R = self.driver, GripperCommandRequest
        values = (req.x, req.y, req.z, req.z_high, req.yaw, req.seconds)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"non-finite value in command {req.command}: {values}")
        if not 0.0 <= req.seconds <= self.max_seconds:
            raise ValueError(f"seconds must be in [0, {self.max_seconds}], got {req.seconds}")
        if req.command in (R.MOVE, R.AFTER_RELEASE):
            if max(abs(req.x), abs(req.y)) > self.reach:
                raise ValueError(f"target ({req.x}, {req.y}) is off the table (|x|, |y| <= {self.reach} m)")
            for z in ((req.z,) if req.command == R.MOVE else (req.z, req.z_high)):
                if not 0.0 <= z <= self.max_tip_height:
                    raise ValueError(f"tip height {z} m is outside [0, {self.max_tip_height}] m")
        out = GripperCommandResponse(success=True, object_id=-1)
        if req.command == R.MOVE:
            out.done = d.move(req.x, req.y, req.z, req.yaw if req.set_yaw else None, free=req.free)
        elif req.command == R.JAWS:
            d.set_jaws(bool(req.open), req.seconds)
        elif req.command == R.WAIT:
            d.wait(req.seconds)
        elif req.command == R.GRIP:
            g = d.grip()
            out.holding, out.gap, out.drop = g.holding, g.gap, g.drop
            out.object_id = -1 if g.object_id is None else int(g.object_id)
        elif req.command == R.GO_TO:
            out.done = d.go_to(req.pose)
        elif req.command == R.STOP:
            d.stop()
        elif req.command == R.AFTER_RELEASE:
            out.done = d.after_release(req.z, req.z_high)
        elif req.command != R.TIP:
            raise ValueError(f"unknown gripper command {req.command}")
        out.x, out.y, out.z = d.tip()
        return out

    # ------------------------------------------------------------ reset_arena
    def reset(self, req) -> ResetArenaResponse:
        """The paper's sweep, a new scene, a new background."""
        if req.background < ResetArenaRequest.BACKGROUND_RANDOM:
            return ResetArenaResponse(success=False, message=f"background {req.background} does not exist")
        done = []
        try:
            with self.lock:
                if req.new_scene:
                    self.arena.reset_scene()
                    done.append("new scene")
                if req.background == ResetArenaRequest.BACKGROUND_RANDOM:
                    self.arena.set_background(None)
                    done.append("random background")
                elif req.background >= 0:
                    self.arena.set_background(int(req.background))
                    done.append(f"background {req.background}")
                if req.sweep:
                    self.robot.reset_sweep()
                    done.append("sweep")
        except (ValueError, IndexError) as exc:
            return ResetArenaResponse(success=False, message=str(exc))
        return ResetArenaResponse(success=True, message=", ".join(done) or "nothing to do")

    def close(self) -> None:
        with self.lock:          # a command or shot in flight finishes before PyBullet disconnects
            self.arena.close()


def main():
    import rospy
    from sensor_msgs.msg import CameraInfo, Image

    from seg_by_interaction.ros.conversions import camera_to_msg, instances_to_msg, rgb_to_msg
    from seg_by_interaction.ros.params import node_config
    from seg_by_interaction.sim.arena import Arena
    from seg_by_interaction.sim.cameras import SimCameraRig
    from seg_by_interaction.sim.robot import SimRobot
    from seg_by_interaction.srv import GripperCommand, ResetArena, TriggerCameras

    rospy.init_node("sim_arena")
    cfg = node_config()
    arena = Arena(cfg, seed=int(rospy.get_param("~seed", cfg.seed)),
                  split=rospy.get_param("~split", "train"))
    arena.reset_scene()
    robot = SimRobot(arena)
    robot.home()
    rig = SimCameraRig(arena)
    image_pubs, info_pubs, gt_pubs = [], [], []
    for k, camera in enumerate(rig.cameras):
        image_pubs.append(rospy.Publisher(f"cam{k}/image_raw", Image, queue_size=2))
        info_pubs.append(rospy.Publisher(f"cam{k}/camera_info", CameraInfo, queue_size=1, latch=True))
        info_pubs[-1].publish(camera_to_msg(camera))
        gt_pubs.append(rospy.Publisher(f"debug/cam{k}/instances", Image, queue_size=2))

    def publish_shot(frames: Frames, shot: int, stamp):
        # each shot's camera models first, with its stamp (as camera drivers send camera_info
        # beside every image): the cameras may have moved since the last shot (a new scene)
        for pub, camera in zip(info_pubs, frames.cameras):
            info = camera_to_msg(camera)
            info.header.stamp = stamp
            pub.publish(info)
        for k, (pub, img) in enumerate(zip(image_pubs, frames.images)):
            msg = rgb_to_msg(img)
            msg.header.stamp, msg.header.frame_id, msg.header.seq = stamp, f"cam{k}", shot
            pub.publish(msg)
        for pub, inst in zip(gt_pubs, frames.gt_instances or ()):
            gt = instances_to_msg(inst)
            gt.header.stamp = stamp
            pub.publish(gt)

    limits = cfg.robot.sim.command_limits
    node = WorldNode(rig, robot.driver, arena, robot, reach=cfg.arena.table_size / 2,
                     max_tip_height=limits.max_tip_height, max_seconds=limits.max_seconds,
                     publish_shot=publish_shot, now=rospy.Time.now,
                     wants_ground_truth=lambda: any(p.get_num_connections() > 0 for p in gt_pubs),
                     closing=rospy.is_shutdown, log_error=rospy.logerr)
    rospy.Service("trigger_cameras", TriggerCameras, node.trigger)
    rospy.Service("gripper_command", GripperCommand, node.gripper)
    rospy.Service("reset_arena", ResetArena, node.reset)
    rospy.on_shutdown(node.close)
    rospy.loginfo("simulated world ready (%d objects)", len(arena.object_ids()))
    rospy.spin()
