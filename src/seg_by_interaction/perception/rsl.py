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

``bias_shift_targets`` is the paper's own approximate search (supplementary A.1),
kept as the reference the benchmark and the tests compare against.
"""
from __future__ import annotations

import torch

# IoU comparisons tolerate this much floating-point error (b * union is not exact).
IOU_TOLERANCE = 1e-9


def _check(logits: torch.Tensor, noisy_masks: torch.Tensor, iou_threshold: float):
    if logits.ndim != 3:
        raise ValueError(f"logits must be [B, H, W], got shape {tuple(logits.shape)}")
    if noisy_masks.shape != logits.shape:
        raise ValueError(f"noisy_masks shape {tuple(noisy_masks.shape)} differs from "
                         f"logits shape {tuple(logits.shape)}")
    if noisy_masks.dtype != torch.bool:
        raise ValueError(f"noisy_masks must be bool, got {noisy_masks.dtype}")
    if not 0.0 < float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    if not bool(torch.isfinite(logits).all()):
        raise ValueError("logits must be finite")
    if logits.shape[0] and not bool(noisy_masks.flatten(1).any(1).all()):
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
    _check(logits, noisy_masks, iou_threshold)
    shape = logits.shape
    if shape[0] == 0:
        return torch.zeros(shape, dtype=torch.bool, device=logits.device)
    x = logits.detach().flatten(1).float()
    m = noisy_masks.flatten(1)
    pred = x > 0
    cost = x.abs()
    b = float(iou_threshold)
    n = x.shape[1]

    inter0 = torch.count_nonzero(pred & m, dim=1)   # [B]
    union0 = torch.count_nonzero(pred | m, dim=1)   # [B]
    on_pool = m & ~pred                             # turning these on: inter + 1
    off_pool = pred & ~m                            # turning these off: union - 1
    n_on = torch.count_nonzero(on_pool, dim=1).unsqueeze(1)    # [B, 1]
    n_off = torch.count_nonzero(off_pool, dim=1).unsqueeze(1)  # [B, 1]

    # One exact sort for both pools: the int32 bit pattern of a finite non-negative
    # float32 orders like its value and lies in [0, 2^31 - 2^23). Shifted down by 2^31,
    # on-pool keys all sort before off-pool keys; other pixels get the largest key.
    bits = cost.view(torch.int32)
    i32 = torch.iinfo(torch.int32)
    key = torch.where(on_pool, bits + i32.min,
                      torch.where(off_pool, bits, torch.full_like(bits, i32.max)))
    order = torch.sort(key, dim=1).indices
    prefix = torch.nn.functional.pad(torch.cumsum(torch.gather(cost, 1, order).double(), 1), (1, 0))

    k = torch.arange(int(n_off.max()) + 1, device=x.device).unsqueeze(0)  # [1, K] turned off
    need = b * (union0.unsqueeze(1) - k).double() - inter0.unsqueeze(1).double()
    a = torch.ceil(need - IOU_TOLERANCE).clamp(min=0).long()              # [B, K] turned on
    feasible = (k <= n_off) & (a <= n_on)
    on_cost = torch.gather(prefix, 1, torch.minimum(a, n_on))
    off_cost = torch.gather(prefix, 1, torch.minimum(n_on + k, n_on + n_off)) \
        - torch.gather(prefix, 1, n_on)
    total = torch.where(feasible, on_cost + off_cost, torch.full_like(on_cost, float("inf")))
    best_k = total.argmin(1, keepdim=True)                                # [B, 1]
    best_a = torch.gather(a, 1, best_k)                                   # [B, 1]

    pos = torch.arange(n, device=x.device).unsqueeze(0)
    flip_sorted = (pos < best_a) | ((pos >= n_on) & (pos < n_on + best_k))
    flip = torch.zeros_like(pred).scatter_(1, order, flip_sorted)
    target = pred ^ flip
    return target.view(shape)


@torch.no_grad()
def bias_shift_targets(logits: torch.Tensor, noisy_masks: torch.Tensor,
                       iou_threshold: float, step: float,
                       max_iterations: int = 100000) -> torch.Tensor:
    """The paper's approximate search (supplementary A.1), one sample at a time.

    Logits inside M are raised by one bias and logits outside M lowered by another;
    both move in steps of the common size ``step``. Each iteration takes the step
    (inside or outside) that raises the IoU more, or both steps when neither alone
    helps, until the argmax of the shifted logits reaches IoU >= b. Terminates: once
    both biases exceed max |logit| the argmax equals M (IoU 1).
    """
    _check(logits, noisy_masks, iou_threshold)
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    out = torch.empty(logits.shape, dtype=torch.bool, device=logits.device)
    b = float(iou_threshold) - IOU_TOLERANCE
    for i in range(logits.shape[0]):
        x = logits[i].detach().flatten()
        m = noisy_masks[i].flatten()
        area = m.sum()
        inside, outside = x[m], x[~m]
        b_in = b_out = 0.0

        def score(b_in_, b_out_):
            on_in = (inside + b_in_ > 0).sum()
            on_out = (outside - b_out_ > 0).sum()
            return float(on_in) / float(area + on_out)

        current = score(b_in, b_out)
        for _ in range(max_iterations):
            if current >= b:
                break
            up_in, up_out = score(b_in + step, b_out), score(b_in, b_out + step)
            if max(up_in, up_out) <= current:      # neither alone helps: move both
                b_in, b_out = b_in + step, b_out + step
                current = score(b_in, b_out)
            elif up_in >= up_out:
                b_in, current = b_in + step, up_in
            else:
                b_out, current = b_out + step, up_out
        shifted = torch.where(m, x + b_in, x - b_out)
        out[i] = (shifted > 0).view(logits.shape[1:])
    return out
