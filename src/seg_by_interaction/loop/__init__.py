"""The interaction loop of Algorithm 1, independent of ROS (the coordinator node drives it
through services; experiments drive it in-process)."""
from seg_by_interaction.loop.algorithm import InteractionLoop, InteractionRecord, LoopSteps

__all__ = ["InteractionLoop", "InteractionRecord", "LoopSteps"]
