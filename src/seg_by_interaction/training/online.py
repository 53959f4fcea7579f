"""The trainer node's logic: pre-train on the passive bootstrap set, then update the
network every ``training.update_every`` new interaction examples (Algorithm 1, line
14) and write numbered checkpoints ``model_vNNNNN.pt`` that segmenters reload.

Everything needed to continue lives in the newest checkpoint (weights, optimizer,
step, random state, how many examples it has seen), so a killed trainer resumes.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generic, Optional, TypeVar

from seg_by_interaction.data.example_cache import ExampleCache
from seg_by_interaction.data.store import DatasetStore
from seg_by_interaction.training import distributed
from seg_by_interaction.perception.checkpoint import CheckpointError, read_checkpoint, slim_checkpoint
from seg_by_interaction.training.dataset import MixedSource
from seg_by_interaction.training.trainer import Trainer, TrainingStopped

_CKPT = re.compile(r"^model_v(\d{5,})\.pt$")


def checkpoint_path(directory: str | Path, version: int) -> Path:
    return Path(directory) / f"model_v{int(version):05d}.pt"


def list_checkpoints(directory: str | Path) -> list[tuple[int, Path]]:
    """(version, path) of every numbered checkpoint, oldest first."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _CKPT.match(p.name))]
    return sorted(found)


def latest_checkpoint(directory: str | Path) -> Optional[tuple[int, str]]:
    found = list_checkpoints(directory)
    return (found[-1][0], str(found[-1][1])) if found else None


T = TypeVar("T")


@dataclass
class Resumed(Generic[T]):
    """What ``load_newest`` found: the newest checkpoint that verified and loaded (version 0
    and no path: none did), what loading it made, and every newer file it skipped, with why."""
    version: int
    path: Optional[str]
    loaded: Optional[T]
    skipped: list[tuple[str, str]]

    def describe(self) -> str:
        """One line for a log: which checkpoint runs and why not a newer one."""
        skipped = "; ".join(f"{Path(p).name} skipped: {why}" for p, why in self.skipped)
        chosen = f"model v{self.version} ({self.path})" if self.path else "no checkpoint (untrained)"
        return f"{chosen}" + (f" - {skipped}" if skipped else "")


def load_newest(directory: str | Path, load: Callable[[Path], T]) -> Resumed[T]:
    """The one policy for a node that starts from a checkpoint folder (the trainer resuming,
    a segmenter after a respawn): the newest numbered checkpoint that ``load`` accepts. A
    file that raises CheckpointError (torn, truncated, tampered, made for another model) is
    skipped and reported in ``skipped``, never silently."""
    skipped: list[tuple[str, str]] = []
    for version, path in reversed(list_checkpoints(directory)):
        try:
            loaded = load(path)
        except CheckpointError as exc:
            skipped.append((str(path), str(exc)))
            continue
        return Resumed(version, str(path), loaded, skipped)
    return Resumed(0, None, None, skipped)


def start_from(checkpoint: str, checkpoint_dir: str, load: Callable[[Optional[Path]], T]) -> Resumed[T]:
    """What a node that serves a model starts with: an explicit ``checkpoint`` (version 0:
    not a numbered one; CheckpointError if it does not load - the user's file is not
    silently replaced), else the newest loadable one in ``checkpoint_dir`` (resume after a
    respawn), else ``load(None)``: an untrained model."""
    if checkpoint:
        return Resumed(0, str(checkpoint), load(Path(checkpoint)), [])
    resumed = load_newest(checkpoint_dir, load) if checkpoint_dir else Resumed(0, None, None, [])
    if resumed.loaded is None:
        resumed.loaded = load(None)
    return resumed


@dataclass
class ModelUpdateInfo:
    version: int
    checkpoint: str
    examples_seen: int
    loss: float
    metrics: dict


class OnlineTrainer:
    def __init__(self, cfg: dict, data_dir: str | Path, device: str = "cpu",
                 mode: Optional[str] = None, progress: bool = False,
                 human_fraction: float = 0.0):
        self.cfg = cfg
        self.tcfg = cfg.training
        self.data_dir = Path(data_dir)
        self.ckpt_dir = self.data_dir / "checkpoints"
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        self.store = DatasetStore(self.data_dir / "store", cfg)
        self.progress = progress
        # one budget for all the views: every update draws each example many times
        cache_bytes = int(self.tcfg.example_cache_mb) * 2 ** 20
        self.cache = ExampleCache(cache_bytes) if cache_bytes > 0 else None
        self.interaction_source = self.store.source(sources=["interaction"], cache=self.cache)
        self.passive_source = self.store.source(sources=["passive"], cache=self.cache)
        # Updates replay the passive bootstrap beside the interactions (training.replay):
        # trained on the interactions alone, the model forgot what the bootstrap taught.
        # "+human": a fraction of every batch drawn from ground-truth examples in the store.
        self.human_fraction = float(human_fraction)
        replay = self.tcfg.replay
        parts = [(self.interaction_source, float(replay.interaction)),
                 (self.passive_source, float(replay.passive))]
        if self.human_fraction > 0:
            parts = [(src, w * (1.0 - self.human_fraction)) for src, w in parts]
            parts.append((self.store.source(sources=["ground_truth"], cache=self.cache),
                          self.human_fraction))
        parts = [(src, w) for src, w in parts if w > 0]
        self.training_source = parts[0][0] if len(parts) == 1 else MixedSource(
            [src for src, _ in parts], [w for _, w in parts])
        metrics = self.data_dir / "training_metrics.jsonl"

        def resume(path: Path):
            extra = read_checkpoint(path)["state"].get("extra", {})
            return Trainer.resume(path, cfg, device=device, mode=mode, metrics_path=metrics), extra

        self.resumed = load_newest(self.ckpt_dir, resume)   # the node logs resumed.describe()
        for path, why in self.resumed.skipped if distributed.is_main() else ():
            aside = Path(path).with_name(Path(path).name + ".damaged")
            Path(path).replace(aside)
            logging.getLogger(__name__).error("checkpoint %s does not load (%s): moved to %s",
                                              path, why, aside)
        self.version = self.resumed.version
        if self.resumed.loaded is not None:
            self.trainer, extra = self.resumed.loaded
            self.examples_seen = int(extra.get("examples_seen", 0))   # checkpoints before lr_clock
        else:                                # a new trainer starts at 0 examples
            self.trainer = Trainer(cfg, device=device, mode=mode, metrics_path=metrics)

    @property
    def examples_seen(self) -> int:
        """Interaction examples trained on so far. The trainer keeps the count (in its
        checkpoints too): it is also the clock of training.lr_clock "examples"."""
        return self.trainer.examples_seen

    @examples_seen.setter
    def examples_seen(self, n: int) -> None:
        self.trainer.examples_seen = int(n)

    def close(self) -> None:
        self.store.close()

    def _save(self, metrics: dict) -> ModelUpdateInfo:
        """Number and write the new model (under torchrun only rank 0 writes; every
        process holds the same weights)."""
        self.version += 1
        path = checkpoint_path(self.ckpt_dir, self.version)
        if distributed.is_main():
            self.trainer.save(path, extra={
                "examples_seen": self.examples_seen, "version": self.version,
                "interactions_seen": self.store.count_interactions(sources=["interaction"])})
            self._slim_old(self.version - int(self.tcfg.full_checkpoints))
        distributed.barrier()
        loss = metrics.get("mask_loss", float("nan"))
        if self.cache is not None:               # the trainer's memory, for whoever watches it
            metrics = {**metrics, "example_cache_mb": self.cache.nbytes / 2 ** 20,
                       "example_cache_examples": len(self.cache)}
        return ModelUpdateInfo(self.version, str(path), self.examples_seen, float(loss), metrics)

    def _slim_old(self, version: int) -> None:
        """Keep only the served weights in checkpoint ``version`` (training.full_checkpoints
        newer ones stay whole): a night's run would otherwise fill the disk with optimizer
        states nobody resumes from. A failure here costs disk space, never a model."""
        if int(self.tcfg.full_checkpoints) <= 0 or version < 1:
            return
        path = checkpoint_path(self.ckpt_dir, version)
        if not path.is_file():
            return
        try:
            slim_checkpoint(path)
        except (CheckpointError, OSError) as exc:
            logging.getLogger(__name__).warning("could not slim checkpoint %s: %s", path, exc)

    def pretrain(self) -> Optional[ModelUpdateInfo]:
        """Paper 4.3: before interacting, train on passively observed motion masks."""
        self.passive_source.refresh()
        if self.version > 0 or distributed.broadcast_int(len(self.passive_source)) == 0:
            return None
        self.trainer.set_source(self.passive_source)
        metrics = self.trainer.train_steps(int(self.tcfg.pretrain_steps), progress=self.progress)
        return self._save(metrics)

    def _refresh_training_source(self) -> None:
        for src in getattr(self.training_source, "sources", [self.training_source]):
            if hasattr(src, "refresh"):
                src.refresh()

    def pending(self) -> int:
        """New interaction examples since the last update."""
        self.interaction_source.refresh()
        return max(len(self.interaction_source) - self.examples_seen, 0)

    def maybe_update(self, force: bool = False) -> Optional[ModelUpdateInfo]:
        """Train when enough new examples arrived (``force``: when any did); the new
        model's info, else None."""
        self.interaction_source.refresh()
        # under torchrun rank 0's view of the store decides, so all processes step together
        n = distributed.broadcast_int(len(self.interaction_source))
        needed = 1 if force else int(self.tcfg.update_every)
        if n - self.examples_seen < needed:
            return None
        self._refresh_training_source()
        self.trainer.set_source(self.training_source)
        before, self.examples_seen = self.examples_seen, n
        try:
            metrics = self.trainer.train_steps(int(self.tcfg.steps_per_update),
                                               progress=self.progress)
        except TrainingStopped:
            self.examples_seen = before      # not trained on: the next run trains on them
            raise
        return self._save(metrics)


class CheckpointWatcher:
    """Newest readable numbered checkpoint in a folder, each reported once.

    For a trainer outside ROS (``torchrun -m seg_by_interaction.training`` on a GPU box
    writing to a shared folder): the checkpoint_announcer node turns what this finds
    into ModelUpdate messages. A checkpoint that does not verify (still being copied,
    torn, tampered) is not reported; it is retried on the next poll.
    """

    def __init__(self, directory: str | Path, after_version: int = 0):
        self.directory = Path(directory)
        self.version = int(after_version)

    def poll(self) -> Optional[tuple[int, str, dict]]:
        """(version, path, extra) of a checkpoint newer than the last reported, else None."""
        for version, path in reversed(list_checkpoints(self.directory)):
            if version <= self.version:
                return None
            try:
                extra = read_checkpoint(path)["state"].get("extra", {})
            except CheckpointError:
                continue
            self.version = version
            return version, str(path), dict(extra)
        return None
