"""Difference-image pseudo labels from pick/place interactions."""
from seg_by_interaction.labeling.difference import change_map, difference_mask

__all__ = ["difference_mask", "change_map"]
