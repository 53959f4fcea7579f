"""Data-parallel training across processes with PyTorch's own DistributedDataParallel.

Launched by ``torchrun`` (which sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR), every
process runs the same Trainer / OnlineTrainer; this module is the only place that knows
about it:

* ``init_from_env`` joins the process group (NCCL on CUDA, gloo on CPU) and picks this
  process's device (``cuda:LOCAL_RANK``);
* ``wrap_model`` puts the network in DDP, so gradients are averaged over processes
  (= the gradient of the mean loss over the concatenated batch); on CUDA BatchNorm
  becomes SyncBatchNorm, so batch statistics are over the whole batch too (PyTorch's
  SyncBatchNorm has no CPU kernel: on CPU each process normalises its own share);
* ``broadcast_int`` lets rank 0 decide (e.g. "train now on N examples") for everyone,
  so all processes step in lockstep even when they see the shared store at slightly
  different moments.

With one process (or no ``torchrun``) everything here is a no-op and training is the
plain single-process path.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedInfo:
    rank: int
    world_size: int
    local_rank: int
    backend: str
    device: str


def active() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    """The process that writes checkpoints, logs and reports (rank 0)."""
    return rank() == 0


def init_from_env(device: str = "cpu") -> DistributedInfo:
    """Join the process group that ``torchrun`` describes in the environment.

    ``device`` is the preset's device ("cpu" or "cuda"); with CUDA each process takes
    GPU ``LOCAL_RANK``. Without torchrun's variables this is one process, no group.
    """
    size = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = str(device).startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' asked for but torch sees no GPU")
    backend = "nccl" if cuda else "gloo"
    if cuda:
        if local >= torch.cuda.device_count():
            raise RuntimeError(f"LOCAL_RANK {local} but only {torch.cuda.device_count()} GPU(s)")
        torch.cuda.set_device(local)
    proc_device = f"cuda:{local}" if cuda else "cpu"
    if size > 1 and not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistributedInfo(rank(), world_size(), local, backend, proc_device)


def wrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` in DDP when several processes train it, else ``model`` itself.

    ``find_unused_parameters``: the heads are trained on alternating batches (the
    authors' schedule), so one head's parameters get no gradient on a given step.
    """
    if not active():
        return model
    device = next(model.parameters()).device
    if device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index], find_unused_parameters=True)
    return torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)


def broadcast_int(value: int) -> int:
    """Rank 0's ``value`` on every process."""
    if not active():
        return int(value)
    backend_device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor([int(value)], dtype=torch.long, device=backend_device)
    dist.broadcast(t, src=0)
    return int(t.item())


def barrier() -> None:
    if active():
        dist.barrier()


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
