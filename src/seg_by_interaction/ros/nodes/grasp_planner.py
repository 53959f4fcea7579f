"""grasp_planner: the PlanGrasp service (PCA of the mask; paper supplementary A.2).

Camera models come with the request (the frame's own, as cameras may move between
scenes) or else from the latched ``camN/camera_info`` topics, so the same node serves
the simulated rig and a calibrated real one.
"""
from __future__ import annotations

from typing import Callable

from sensor_msgs.msg import CameraInfo

from seg_by_interaction.grasping import check_width, grasp_to_arena, plan_grasp
from seg_by_interaction.msg import Grasp
from seg_by_interaction.ros.conversions import ConversionError, msg_to_camera, msg_to_mask
from seg_by_interaction.srv import PlanGraspResponse


class GraspPlannerNode:
    """PlanGrasp over the latest camera models (``on_info``) or the request's own."""

    def __init__(self, min_pixels: int, max_width: float,
                 log_error: Callable[[str], None] = lambda text: None):
        self.min_pixels = int(min_pixels)     # grasping.min_pixels: smaller masks get no grasp
        self.max_width = float(max_width)     # grasping.max_width: wider ones neither
        self.cameras = {}
        self.log_error = log_error

    def on_info(self, msg: CameraInfo, k: int):
        try:
            self.cameras[k] = msg_to_camera(msg)
        except (ConversionError, ValueError) as exc:
            self.log_error(f"camera {k}: unusable camera_info: {exc}")

    def handle(self, req) -> PlanGraspResponse:
        hyp = req.hypothesis
        try:
            mask = msg_to_mask(hyp.mask)
            grasp = plan_grasp(mask, self.min_pixels)
        except (ConversionError, ValueError) as exc:
            return PlanGraspResponse(success=False, message=str(exc))
        out = Grasp(hypothesis_id=hyp.id, camera=hyp.camera, u=grasp.u, v=grasp.v,
                    angle=grasp.angle, width_px=grasp.width_px)
        camera = self.cameras.get(hyp.camera)
        if req.camera_info.width > 0:         # the frame's own model (cameras move between scenes)
            try:
                camera = msg_to_camera(req.camera_info)
            except (ConversionError, ValueError) as exc:
                return PlanGraspResponse(success=False, grasp=out, message=f"camera_info: {exc}")
        if camera is None:
            return PlanGraspResponse(success=False, grasp=out,
                                     message=f"no camera model for camera {hyp.camera} yet "
                                             f"(waiting for cam{hyp.camera}/camera_info)")
        if (camera.width, camera.height) != mask.shape[::-1]:
            return PlanGraspResponse(success=False, grasp=out,
                                     message=f"mask is {mask.shape[1]}x{mask.shape[0]} but camera "
                                             f"{hyp.camera} is {camera.width}x{camera.height}")
        out.x, out.y, out.theta, out.width = grasp_to_arena(grasp, camera)
        try:
            check_width(out.width, self.max_width)
        except ValueError as exc:
            return PlanGraspResponse(success=False, grasp=out, message=str(exc))
        return PlanGraspResponse(success=True, message="", grasp=out)


def main():
    import rospy

    from seg_by_interaction.ros.params import node_config
    from seg_by_interaction.srv import PlanGrasp

    rospy.init_node("grasp_planner")
    cfg = node_config()
    node = GraspPlannerNode(cfg.grasping.min_pixels, cfg.grasping.max_width, rospy.logerr)
    for k in range(cfg.arena.num_cameras):
        rospy.Subscriber(f"cam{k}/camera_info", CameraInfo, node.on_info, callback_args=k)
    rospy.Service("plan_grasp", PlanGrasp, node.handle)
    rospy.spin()
