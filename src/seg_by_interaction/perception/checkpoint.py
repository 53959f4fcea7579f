"""Checkpoints that can be trusted: written atomically, checked before loading,
and loaded without executing pickled code.

File layout: a magic line, the SHA-256 of the payload, then the payload — a
``torch.save`` archive of plain data (tensors, numbers, strings, lists, dicts) read
back with ``weights_only=True``. A torn, truncated or edited file fails the digest;
a payload forged with a matching digest still cannot run code on load.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import torch

MAGIC = b"SEG_BY_INTERACTION_CHECKPOINT\n"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that is corrupt, tampered with, or made for another model."""


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer | None = None,
                    state: dict | None = None, model_cfg: dict | None = None,
                    train_model: torch.nn.Module | None = None) -> None:
    """Write model (+ optimizer, + plain-data ``state``) to ``path`` atomically.

    ``model`` holds the weights every reader serves; ``train_model``, when the trainer
    serves an average of its weights (training.ema), the weights SGD continues from."""
    from seg_by_interaction.config import plain
    payload = {"version": VERSION,
               "model": model.state_dict(),
               "train_model": None if train_model is None else train_model.state_dict(),
               "optimizer": None if optimizer is None else optimizer.state_dict(),
               "model_cfg": plain(model_cfg if model_cfg is not None else getattr(model, "cfg", {})),
               "state": dict(state or {})}
    _write(path, payload)


def _write(path: str | os.PathLike, payload: dict) -> None:
    """Magic line, SHA-256 of the payload, the payload; atomically (a reader sees the old
    file or the new one, never half of either)."""
    buf = io.BytesIO()
    torch.save(payload, buf)
    data = buf.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(hashlib.sha256(data).hexdigest().encode() + b"\n")
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The verified payload of a checkpoint file, or CheckpointError saying why not."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not raw.startswith(MAGIC):
        raise CheckpointError(f"{path} is not a seg_by_interaction checkpoint (bad header)")
    rest = raw[len(MAGIC):]
    digest, sep, data = rest.partition(b"\n")
    if not sep or hashlib.sha256(data).hexdigest().encode() != digest:
        raise CheckpointError(f"{path} is corrupt or was modified (SHA-256 mismatch)")
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refused or archive unreadable
        raise CheckpointError(f"{path}: payload refused by the safe loader: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("version") != VERSION:
        found = payload.get("version") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: checkpoint version {found}, expected {VERSION}")
    return payload


def slim_checkpoint(path: str | os.PathLike) -> bool:
    """Rewrite ``path`` with the served weights only (no optimizer state, no raw weights
    beside a moving average): what segmenters and evaluation read, a third of the size.
    Resuming from it restarts the optimizer's momentum. True when it shrank."""
    payload = read_checkpoint(path)
    if payload.get("optimizer") is None and payload.get("train_model") is None:
        return False
    payload["optimizer"] = payload["train_model"] = None
    _write(path, payload)
    return True


def _architecture(model_cfg: dict) -> dict:
    """The model settings a checkpoint must agree with. A disabled optional head is the
    same model as one made before that option existed (files from older versions load)."""
    from seg_by_interaction.config import plain
    out = plain(model_cfg)
    out.pop("pad_mode", None)       # how inputs are padded, not the weights' shape or meaning
    refine = out.pop("refine_head", None) or {}
    if refine.get("enabled"):
        out["refine_head"] = dict(refine)
    return out


def load_checkpoint(path: str | os.PathLike, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer | None = None,
                    model_cfg: dict | None = None,
                    train_model: torch.nn.Module | None = None) -> dict:
    """Load weights (and optimizer state) in place; returns the saved ``state`` dict.

    With ``model_cfg``, the architecture recorded in the file must match it. ``train_model``
    gets the weights SGD continues from (the served ones when the file has no others).
    """
    payload = read_checkpoint(path)
    if model_cfg is not None:
        saved, wanted = _architecture(payload.get("model_cfg", {})), _architecture(model_cfg)
        diff = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
        if diff:
            details = ", ".join(f"model.{k}: file {saved.get(k)!r} vs config {wanted.get(k)!r}"
                                for k in diff)
            raise CheckpointError(f"{path} was made for another model ({details})")
    try:
        model.load_state_dict(payload["model"])
        if train_model is not None:
            train_model.load_state_dict(payload.get("train_model") or payload["model"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path} does not fit this model: {exc}") from exc
    if optimizer is not None and payload.get("optimizer") is not None:
        optimizer.load_state_dict(payload["optimizer"])
    return payload["state"]
