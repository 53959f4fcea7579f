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


def native_bfloat16() -> bool:
    """True when this CPU multiplies bfloat16 in hardware (AMX tiles or AVX512-BF16): there
    torch's bfloat16 convolutions are ~2x faster than float32; elsewhere they are emulated
    and slower, so ``auto`` stays in float32."""
    import torch
    cpu = torch.cpu
    try:
        return bool(cpu._is_amx_tile_supported() or cpu._is_avx512_bf16_supported())
    except AttributeError:        # an older torch without the probes: assume not
        return False


def compute_dtype(precision: str, device: str):
    """The dtype the network's convolutions and matrix products run in: ``float32``,
    ``bfloat16``, or ``auto`` = bfloat16 on a CPU that has it natively, float32 elsewhere
    (a GPU preset chooses explicitly). Weights, losses and outputs stay float32."""
    import torch
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if precision != "auto":
        raise ValueError(f"precision must be auto, float32 or bfloat16, got {precision!r}")
    on_cpu = str(device).startswith("cpu")
    return torch.bfloat16 if on_cpu and native_bfloat16() else torch.float32


def autocast(dtype, device: str):
    """A context in which the network computes in ``dtype`` (torch autocast; a no-op for
    float32). Autocast is per thread: enter it in the thread that runs the network."""
    import contextlib

    import torch
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda" if str(device).startswith("cuda") else "cpu",
                          dtype=dtype)
