"""Grasp planning: the PCA grasp of a hypothesis mask and its arena pose."""
from seg_by_interaction.grasping.pca import Grasp, check_width, grasp_to_arena, plan_grasp

__all__ = ["Grasp", "plan_grasp", "grasp_to_arena", "check_width"]
