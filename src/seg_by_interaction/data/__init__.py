"""The dataset store (SQLite index + PNGs), COCO export and its CLI."""
from seg_by_interaction.data.store import DatasetStore, ExampleView, StoreError

__all__ = ["DatasetStore", "ExampleView", "StoreError"]
