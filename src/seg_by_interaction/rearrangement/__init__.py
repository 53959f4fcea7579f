"""Rearranging objects to match a target image (paper 6.3.1), without ROS.

``planner.Rearranger`` runs an episode over injected steps (capture, segment,
pick_place: ``LocalSteps`` in the arena, ``RosLoopSteps`` behind the action server);
``descriptors``/``trunk`` describe segments, ``matching`` pairs them (Hungarian with
rejection), ``geometry`` turns a segment into a pick/place pose, ``baseline`` moves
changed regions without segmenting, ``scenes`` + ``evaluation`` + ``report`` measure it
all in the arena with ground truth.
"""
from seg_by_interaction.rearrangement.matching import Match, cost_matrix, match_segments
from seg_by_interaction.rearrangement.planner import (Rearranger, RearrangeResult,
                                                      RearrangementError)

__all__ = ["Match", "cost_matrix", "match_segments", "Rearranger", "RearrangeResult",
           "RearrangementError"]
