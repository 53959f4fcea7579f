"""The grasp_planner node on a real master: PCA grasp in pixels and arena metres."""
from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def test_plan_grasp_service(ros_node, launch):
    import cv2
    import rospy
    from sensor_msgs.msg import CameraInfo
    from seg_by_interaction.types import CameraModel
    from seg_by_interaction.msg import Hypothesis
    from seg_by_interaction.ros.conversions import camera_to_msg, mask_to_msg
    from seg_by_interaction.srv import PlanGrasp
    # a camera 1 m above the arena looking straight down: pixels map linearly to metres
    K = np.array([[500.0, 0, 215], [0, 500.0, 175], [0, 0, 1]])
    R = np.diag([1.0, -1.0, -1.0])
    cam = CameraModel(430, 350, K=K, R=R, t=np.array([0.0, 0.0, 1.0]))
    info_pub = rospy.Publisher("/grasptest/cam1/camera_info", CameraInfo, queue_size=1, latch=True)
    info_pub.publish(camera_to_msg(cam))
    launch("rosrun", "seg_by_interaction", "grasp_planner", "__ns:=/grasptest", name="grasp")
    rospy.wait_for_service("/grasptest/plan_grasp", timeout=60)
    plan = rospy.ServiceProxy("/grasptest/plan_grasp", PlanGrasp)
    mask = np.zeros((350, 430), np.uint8)
    cv2.ellipse(mask, (250, 150), (60, 15), 0, 0, 360, 1, -1)   # long axis along image x
    hyp = Hypothesis(id=7, camera=1, mask=mask_to_msg(mask > 0))
    resp = None
    for _ in range(50):  # the latched camera_info may arrive just after the service is up
        resp = plan(hypothesis=hyp)
        if resp.success:
            break
        rospy.sleep(0.2)
    assert resp.success, resp.message
    g = resp.grasp
    assert g.hypothesis_id == 7 and g.camera == 1
    assert (g.u, g.v) == pytest.approx((250, 150), abs=1.0)
    assert g.angle == pytest.approx(math.pi / 2, abs=0.05)          # jaws close across the long axis
    assert (g.x, g.y) == pytest.approx(((250 - 215) / 500, -(150 - 175) / 500), abs=0.005)
    assert g.width == pytest.approx(g.width_px / 500, rel=0.1)
    # bad input: an empty mask, a camera nobody described, a non-mono8 mask
    assert not plan(hypothesis=Hypothesis(camera=1, mask=mask_to_msg(np.zeros((350, 430), bool)))).success
    unknown = plan(hypothesis=Hypothesis(camera=3, mask=mask_to_msg(mask > 0)))
    assert not unknown.success and "camera 3" in unknown.message
    wrong = mask_to_msg(mask > 0)
    wrong.encoding = "rgb8"
    assert not plan(hypothesis=Hypothesis(camera=1, mask=wrong)).success


def test_preset_reaches_the_grasp_planner(ros_node, launch):
    """grasping.min_pixels comes from the node's preset/overrides, not a default inside plan_grasp."""
    import cv2
    import rospy
    from sensor_msgs.msg import CameraInfo
    from seg_by_interaction.types import CameraModel
    from seg_by_interaction.msg import Hypothesis
    from seg_by_interaction.ros.conversions import camera_to_msg, mask_to_msg
    from seg_by_interaction.srv import PlanGrasp
    cam = CameraModel(430, 350, K=np.array([[500.0, 0, 215], [0, 500.0, 175], [0, 0, 1]]),
                      R=np.diag([1.0, -1.0, -1.0]), t=np.array([0.0, 0.0, 1.0]))
    info_pub = rospy.Publisher("/grasppreset/cam0/camera_info", CameraInfo, queue_size=1, latch=True)
    info_pub.publish(camera_to_msg(cam))
    launch("rosrun", "seg_by_interaction", "grasp_planner", "__ns:=/grasppreset",
           "_overrides:={grasping.min_pixels: 100000}", name="grasp_preset")
    rospy.wait_for_service("/grasppreset/plan_grasp", timeout=60)
    plan = rospy.ServiceProxy("/grasppreset/plan_grasp", PlanGrasp)
    mask = np.zeros((350, 430), np.uint8)
    cv2.ellipse(mask, (250, 150), (60, 15), 0, 0, 360, 1, -1)   # ~2800 px: plenty by default
    resp = plan(hypothesis=Hypothesis(id=1, camera=0, mask=mask_to_msg(mask > 0)))
    assert not resp.success and "at least 100000" in resp.message, resp.message
