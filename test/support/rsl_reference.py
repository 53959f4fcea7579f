"""The paper's approximate robust-set-loss search (supplementary A.1): the reference that
``perception.rsl.robust_targets`` (exact, by sorting) is tested and benchmarked against."""
from __future__ import annotations

import torch

from seg_by_interaction.perception.rsl import IOU_TOLERANCE, _check


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
