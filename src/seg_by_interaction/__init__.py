"""seg_by_interaction: a robot teaches itself instance segmentation by picking objects up.

The library is importable without a ROS master; only ``seg_by_interaction.ros`` and the
executables in ``nodes/`` import rospy.
"""
__version__ = "0.1.0"
