"""Replay a finished run's training with another recipe, on the same data.

A run's store keeps its examples in the order they were committed, and every numbered
checkpoint records how many interaction examples the trainer had seen when it wrote it.
``replay_training`` trains anew along that history: update k sees exactly the first
``examples_seen(k)`` interaction examples (plus the passive set, mixed as
``training.replay`` says) and takes ``training.steps_per_update`` steps, as the online
trainer would have under the variant's configuration. What the robot chose to try is
held fixed (it came from the reference run's models), so two recipes are compared on the
same data, without the loop's run-to-run noise: the training recipe's own effect
(schedule, averaging, width, steps), not the data's. The trainer's random state resumes
from model v1's checkpoint, so a replay is deterministic: a ``seed`` override does not
change it, and two recipes that agree on the run's data give the same models.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

from seg_by_interaction.data.example_cache import ExampleCache
from seg_by_interaction.data.store import DatasetStore
from seg_by_interaction.evaluation.checkpoints import checkpoint_progress
from seg_by_interaction.perception.checkpoint import CheckpointError, read_checkpoint
from seg_by_interaction.training.dataset import MixedSource
from seg_by_interaction.training.online import checkpoint_path, list_checkpoints
from seg_by_interaction.training.trainer import Trainer


class Prefix:
    """The first ``n`` examples of a source (the data an earlier update saw)."""

    def __init__(self, source, n: int = 0):
        self.source, self.n = source, int(n)

    def __len__(self) -> int:
        return min(self.n, len(self.source))

    def __getitem__(self, i: int):
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} examples")
        return self.source[i]


def _same_architecture(path: Path, cfg: dict) -> bool:
    return read_checkpoint(path).get("model_cfg") == cfg.model.model_dump()


def replay_training(cfg: dict, reference_dir: str | Path, out_dir: str | Path,
                    reuse_bootstrap: Optional[bool] = None, progress: bool = False) -> Path:
    """Checkpoints in ``out_dir/checkpoints`` numbered like the reference run's, each trained
    on the data the reference's trainer had when it wrote that version. The bootstrap
    model v1 is the reference's when the architecture and pre-training agree
    (``reuse_bootstrap`` None: decided from the architecture), else pre-trained anew on
    the reference's passive set. The reference is only read; an interrupted replay
    continues from its newest checkpoint."""
    reference_dir, out_dir = Path(reference_dir), Path(out_dir)
    if out_dir.resolve() == reference_dir.resolve():
        raise ValueError("the replay needs its own folder, not the reference run's")
    reference = list_checkpoints(reference_dir / "checkpoints")
    if not any(v == 1 for v, _ in reference) or not (reference_dir / "store").is_dir():
        raise FileNotFoundError(f"{reference_dir} holds no bootstrap model v1 and store")
    ckpt_dir = out_dir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    tcfg = cfg.training
    store = DatasetStore(reference_dir / "store", cfg, read_only=True)
    try:
        budget = int(tcfg.example_cache_mb) * 2 ** 20      # as the online trainer decodes
        cache = ExampleCache(budget) if budget > 0 else None
        interactions = Prefix(store.source(sources=["interaction"], cache=cache))
        passive = store.source(sources=["passive"], cache=cache)
        replay = tcfg.replay
        mixed = MixedSource([interactions, passive],
                            [float(replay.interaction), float(replay.passive)])
        metrics = out_dir / "training_metrics.jsonl"
        done = list_checkpoints(ckpt_dir)
        if done:
            trainer = Trainer.resume(done[-1][1], cfg, device=cfg.device, metrics_path=metrics)
        else:
            v1 = checkpoint_path(reference_dir / "checkpoints", 1)
            reuse = _same_architecture(v1, cfg) if reuse_bootstrap is None else reuse_bootstrap
            if reuse:
                shutil.copy2(v1, ckpt_dir / v1.name)
                trainer = Trainer.resume(ckpt_dir / v1.name, cfg, device=cfg.device,
                                         metrics_path=metrics)
            else:
                trainer = Trainer(cfg, device=cfg.device, metrics_path=metrics)
                trainer.set_source(passive)
                trainer.train_steps(int(tcfg.pretrain_steps), progress=progress)
                trainer.save(ckpt_dir / v1.name, extra={"version": 1, "examples_seen": 0,
                                                          "interactions_seen": 0})
            done = list_checkpoints(ckpt_dir)
        last = done[-1][0]
        for version, ref_path in reference:
            if version <= last:
                continue
            try:
                info = checkpoint_progress(ref_path)
            except CheckpointError:
                continue                       # a damaged reference checkpoint: skip its update
            interactions.n = info["examples_seen"]
            if len(interactions) == 0:
                continue
            trainer.set_source(mixed)
            trainer.examples_seen = len(interactions)
            trainer.train_steps(int(tcfg.steps_per_update), progress=progress)
            trainer.save(checkpoint_path(ckpt_dir, version),
                         extra={"version": version, "examples_seen": len(interactions),
                                "interactions_seen": info["interactions_seen"]})
    finally:
        store.close()
    return out_dir
