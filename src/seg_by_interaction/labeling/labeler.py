"""Interaction in, stored examples out: the labeller node's logic, also used offline.

Labelling is a pure function of the interaction's images and points, and the store
keys examples by (robot, interaction, camera, pair, source), so labelling the same
interaction twice (a replayed bag, a respawned labeller) stores it once.
"""
from __future__ import annotations

from typing import Mapping, Optional

from seg_by_interaction.data.store import DatasetStore
from seg_by_interaction.labeling.views import LabeledView, label_interaction
from seg_by_interaction.types import Frames


class InteractionLabeler:
    def __init__(self, store: DatasetStore, cfg: Mapping, split: str = "train"):
        self.store = store
        self.cfg = cfg
        self.split = split

    def label(self, robot_id: str, interaction_id: int | str, before: Frames,
              held: Optional[Frames], after: Frames, pick_xy, place_xy,
              source: str = "interaction", stamp: Optional[float] = None,
              object_in_gripper: Optional[bool] = None) -> list[tuple[int, LabeledView]]:
        """Label every view, store each example; [(example_id, view), ...].
        ``object_in_gripper``: the gripper's reading, if known (labeling.use_gripper)."""
        if held is None:
            raise ValueError(f"interaction {interaction_id} has no held shot (I'_t+1): "
                             "it cannot be labelled")
        views = label_interaction(before, held, after, pick_xy, self.cfg, place_xy=place_xy,
                                  object_in_gripper=object_in_gripper)
        stored = []
        for view in views:
            example_id = self.store.add_example(
                view.image, view.pick_px, view.mask, robot_id=robot_id,
                interaction_id=str(interaction_id), camera=view.camera, pair=view.pair,
                source=source, split=self.split, stamp=stamp if stamp is not None else before.stamp,
                meta=view.meta)
            stored.append((example_id, view))
        return stored
