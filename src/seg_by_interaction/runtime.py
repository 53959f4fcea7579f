"""Process-wide runtime settings taken from the configuration.

Measured on the 2-core machines this project targets: PyTorch's OpenMP pool with 2
threads runs small-batch convolutions 20-40x slower than 1 thread (a 304x352 trunk
pass: 0.84 s vs 0.023 s; a training step of 16 windows: 2.7 s vs 0.06 s). So the
default preset uses one intra-op thread per process, which also leaves the other
core to the simulator and the other nodes. A GPU preset may set more.
"""
from __future__ import annotations

_applied: dict = {}


def torch_threads(cfg: dict) -> int:
    """The configured intra-op thread count; 0 = torch's default."""
    return cfg.torch_threads


def apply_runtime(cfg: dict) -> None:
    """Set torch's thread count from ``cfg.torch_threads`` (once per value)."""
    threads = torch_threads(cfg)
    if threads <= 0 or _applied.get("threads") == threads:
        return
    import torch
    torch.set_num_threads(threads)
    _applied["threads"] = threads
