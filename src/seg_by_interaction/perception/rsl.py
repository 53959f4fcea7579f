"""Robust set loss (Pathak et al., sec. 4.2): the latent target it trains against.

The latent target X^ minimises the cross-entropy of the network's own prediction
against X^ (for hard labels: the total |logit| of the pixels where X^ disagrees with
``logits > 0``) subject to IoU(X^, M) >= b for the noisy mask M.

``robust_targets`` solves this exactly. Starting from the prediction's argmax P,
only two kinds of flip can raise the IoU: turning ON a pixel inside M (intersection
+1) and turning OFF a pixel outside M (union -1); every other flip lowers the IoU
and costs something, so an optimum never uses one. Each flip costs |logit|, so
within a kind the cheapest pixels go first. For k pixels turned off the cheapest
feasible number turned on is a(k) = max(0, ceil(b (U - k) - I)), and the optimum is
the k with the least prefix-sum cost. All of it is sorting and prefix sums over the
batch at once. X^ = M is always feasible (IoU 1), so a target always exists.

The paper's own approximate search (supplementary A.1) is kept with the tests
(``test/support/rsl_reference.py``) as the reference the benchmark and tests compare against.
"""
from __future__ import annotations

import numpy as np
import torch

# IoU comparisons tolerate this much floating-point error (b * union is not exact).
IOU_TOLERANCE = 1e-9


def _check(logits: torch.Tensor, noisy_masks: torch.Tensor, iou_threshold: float,
           nonempty: bool = True):
    if logits.ndim != 3:
        raise ValueError(f"logits must be [B, H, W], got shape {tuple(logits.shape)}")
    if noisy_masks.shape != logits.shape:
        raise ValueError(f"noisy_masks shape {tuple(noisy_masks.shape)} differs from "
                         f"logits shape {tuple(logits.shape)}")
    if noisy_masks.dtype != torch.bool:
        raise ValueError(f"noisy_masks must be bool, got {noisy_masks.dtype}")
    if not 0.0 < float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    # a finite sum means finite logits (a NaN or inf anywhere makes it NaN/inf); only when
    # it is not (or overflows) is the element-wise test needed
    if not bool(torch.isfinite(logits.sum())) and not bool(torch.isfinite(logits).all()):
        raise ValueError("logits must be finite")
    if nonempty and logits.shape[0] and not bool(noisy_masks.flatten(1).any(1).all()):
        raise ValueError("every noisy mask must be non-empty")


def iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of bool masks [B, ...] -> float64 [B]."""
    a, b = a.flatten(1), b.flatten(1)
    inter = (a & b).sum(1).double()
    union = (a | b).sum(1).double()
    return inter / union.clamp(min=1)


def flip_cost(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Total |logit| of pixels where ``targets`` disagrees with ``logits > 0`` -> [B]."""
    flipped = targets != (logits > 0)
    return (logits.abs().double() * flipped).flatten(1).sum(1)


@torch.no_grad()
def robust_targets(logits: torch.Tensor, noisy_masks: torch.Tensor,
                   iou_threshold: float) -> torch.Tensor:
    """Exact RSL latent targets.

    logits: float [B, H, W] (foreground minus background); noisy_masks: bool
    [B, H, W], each non-empty. Returns bool [B, H, W]: per sample, a target with
    IoU >= iou_threshold against its noisy mask whose total |logit| flipped relative
    to ``logits > 0`` is minimal.
    """
    _check(logits, noisy_masks, iou_threshold, nonempty=False)   # checked below, from `area`
    shape = logits.shape
    if shape[0] == 0:
        return torch.zeros(shape, dtype=torch.bool, device=logits.device)
    x = logits.detach().flatten(1).float()
    m = noisy_masks.flatten(1)
    pred = x > 0
    b = float(iou_threshold)
    batch, n = x.shape

    # Only the two pools (pred != m) can flip: gather them into one flat array and sort
    # it once. The key orders by sample (high 32 bits), then on-pool before off-pool
    # (bit 31), then by cost: the int32 bit pattern of a finite non-negative float32
    # orders like its value and lies in [0, 2^31). One flat int64 sort of the pools is
    # several times faster than a row-wise sort of every pixel.
    pool = pred ^ m
    pool_idx = _flat_nonzero(pool)                                 # [T], row-major
    n_pool = torch.diff(torch.searchsorted(                        # [B] pool pixels per sample
        pool_idx, torch.arange(batch + 1, device=x.device) * n))
    row = torch.repeat_interleave(torch.arange(batch, device=x.device), n_pool)
    xp = torch.index_select(x.view(-1), 0, pool_idx)
    key = (row << 32) | (xp.abs().view(torch.int32).long() + ((xp > 0).long() << 31))
    skey, perm = torch.sort(key)
    flat_idx = torch.index_select(pool_idx, 0, perm)              # cheapest first per pool
    cost = (skey & 0x7FFFFFFF).int().view(torch.float32).double()
    prefix = torch.nn.functional.pad(torch.cumsum(cost, 0), (1, 0))  # [T + 1]
    # each sample's run in the sorted array: [start, start + n_on) on-pool, then off-pool
    rows = torch.arange(batch + 1, device=x.device) << 32
    bounds = torch.searchsorted(skey, torch.stack([rows[:-1], rows[:-1] | (1 << 31)], 1))
    start, n_on = bounds[:, :1], bounds[:, 1:] - bounds[:, :1]    # [B, 1]
    n_off = n_pool.unsqueeze(1) - n_on
    area = _count(m).unsqueeze(1)
    if not bool((area > 0).all()):
        raise ValueError("every noisy mask must be non-empty")
    inter0, union0 = area - n_on, area + n_off          # turning on: inter + 1; off: union - 1

    k = torch.arange(int(n_off.max()) + 1, device=x.device).unsqueeze(0)  # [1, K] turned off
    need = b * (union0 - k).double() - inter0.double()
    a = torch.ceil(need - IOU_TOLERANCE).clamp(min=0).long()              # [B, K] turned on
    feasible = (k <= n_off) & (a <= n_on)
    on_cost = _take(prefix, start + torch.minimum(a, n_on))
    off_cost = _take(prefix, start + n_on + torch.minimum(k, n_off)) - _take(prefix, start + n_on)
    total = torch.where(feasible, on_cost + off_cost, torch.full_like(on_cost, float("inf")))
    best_k = total.argmin(1, keepdim=True)                                # [B, 1]
    best_a = torch.gather(a, 1, best_k)                                   # [B, 1]

    # Flipped: per sample the best_a first (cheapest) of its on-pool and the best_k first
    # of its off-pool, i.e. two runs of the sorted array, marked by +1/-1 at their ends.
    edges = torch.cat([start, start + best_a, start + n_on, start + n_on + best_k]).view(-1)
    signs = torch.tensor([1, -1, 1, -1], dtype=torch.int32,
                         device=x.device).repeat_interleave(batch)
    marks = torch.zeros(flat_idx.numel() + 1, dtype=torch.int32, device=x.device)
    marks.index_add_(0, edges, signs)
    flipped = torch.cumsum(marks[:-1], 0, dtype=torch.int32) > 0
    target = pred.clone().view(-1)
    target.index_copy_(0, flat_idx, ((skey & (1 << 31)) != 0) ^ flipped)  # pred ^ flip
    return target.view(shape)


def _count(mask: torch.Tensor) -> torch.Tensor:
    """True elements per row of a bool [B, N] -> int64 [B] (a uint8 sum is the fastest)."""
    return mask.view(torch.uint8).sum(1, dtype=torch.int32).long()


def _take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values[index] for a 1-D ``values`` (index_select is faster than fancy indexing)."""
    return values.index_select(0, index.reshape(-1)).view(index.shape)


def _flat_nonzero(mask: torch.Tensor) -> torch.Tensor:
    """Flat indices of the true elements, in order (numpy's is ~3x faster on CPU)."""
    if mask.device.type == "cpu":
        return torch.from_numpy(np.flatnonzero(mask.numpy().reshape(-1)))
    return mask.reshape(-1).nonzero().squeeze(1)
