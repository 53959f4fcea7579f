"""Starting a run from a model instead of a passive bootstrap (``init:=FILE``): the robot adapts
a trained network to the table it stands at.

``install_initial_model`` checks the file against the run's model section (a checkpoint of
another preset or network is refused, saying which settings differ) and, when the run has no
model yet, writes it as the run's model v1: a checkpoint the trainer resumes from (the
weights, served and raw; a fresh optimizer; the step count the file records, trained on at
``adapt.lr`` instead of the schedule) and the segmenters serve from the first interaction. A run that
already has models is left as it is (a restart resumes, it does not start over).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from seg_by_interaction.perception.checkpoint import CheckpointError, read_checkpoint
from seg_by_interaction.training.online import checkpoint_path, list_checkpoints


def install_initial_model(cfg, data_dir: str | Path, path: str | Path) -> Optional[Path]:
    """The run's new model v1 made from ``path``, or None when the run already has models.
    CheckpointError (with the reason) when ``path`` cannot start this run."""
    from seg_by_interaction.perception.checkpoint import load_checkpoint
    from seg_by_interaction.training.trainer import Trainer
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"init:={path}: no such file")
    payload = read_checkpoint(path)                 # verified: magic, digest, safe loader
    trainer = Trainer(cfg)
    load_checkpoint(path, trainer.served_model, model_cfg=cfg.model)    # same network, or why not
    trainer.model.load_state_dict(trainer.served_model.state_dict())
    if trainer.ema is not None:
        trainer.ema.n_averaged.fill_(1)
    state = payload.get("state", {})
    trainer.step = int(state.get("step", state.get("extra", {}).get("step", 0)))
    trainer.lr_override = float(cfg.adapt.lr)
    folder = Path(data_dir) / "checkpoints"
    if list_checkpoints(folder):
        return None
    out = checkpoint_path(folder, 1)
    trainer.save(out, extra={"version": 1, "examples_seen": 0, "interactions_seen": 0,
                             "init_from": str(path.resolve())})
    return out


def started_from_model(data_dir: str | Path) -> bool:
    """Whether the run in ``data_dir`` started from a model (its v1 was installed from a
    file) rather than from a passive bootstrap: such a run adapts (the ``adapt`` section)."""
    v1 = checkpoint_path(Path(data_dir) / "checkpoints", 1)
    if not v1.is_file():
        return False
    try:
        extra = read_checkpoint(v1).get("state", {}).get("extra", {})
    except CheckpointError:
        return False
    return bool(extra.get("init_from"))
