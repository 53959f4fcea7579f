"""The exact robust-set-loss target against brute force, and against the paper's search."""
import itertools

import pytest
import torch

from seg_by_interaction.perception.rsl import flip_cost, iou, robust_targets
from support.rsl_reference import bias_shift_targets


def brute_force_cost(logits, mask, b):
    h, w = logits.shape
    best = float("inf")
    for bits in itertools.product([False, True], repeat=h * w):
        cand = torch.tensor(bits).view(1, h, w)
        if iou(cand, mask[None])[0] >= b - 1e-9:
            best = min(best, float(flip_cost(logits[None], cand)[0]))
    return best


@pytest.mark.parametrize("b", [0.3, 0.5, 0.7, 0.75, 1.0])
def test_exact_matches_brute_force(b):
    g = torch.Generator().manual_seed(int(b * 100))
    logits = torch.randn(40, 3, 3, generator=g) * 2
    masks = torch.rand(40, 3, 3, generator=g) > 0.5
    masks[:, 1, 1] = True  # non-empty
    targets = robust_targets(logits, masks, b)
    assert targets.dtype == torch.bool and targets.shape == logits.shape
    assert bool((iou(targets, masks) >= b - 1e-9).all())
    got = flip_cost(logits, targets)
    for i in range(len(logits)):
        assert float(got[i]) == pytest.approx(brute_force_cost(logits[i], masks[i], b), abs=1e-9)


def test_already_feasible_prediction_is_kept():
    logits = torch.tensor([[[3.0, 2.0], [-1.0, -4.0]]])
    mask = torch.tensor([[[True, True], [False, False]]])
    assert torch.equal(robust_targets(logits, mask, 0.75), logits > 0)


def test_never_worse_than_paper_search_and_always_feasible():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(8, 24, 24, generator=g) * 3
    masks = torch.zeros(8, 24, 24, dtype=torch.bool)
    masks[:, 6:18, 4:16] = True
    exact = robust_targets(logits, masks, 0.75)
    paper = bias_shift_targets(logits, masks, 0.75, step=0.05)
    assert bool((iou(exact, masks) >= 0.75 - 1e-9).all())
    assert bool((iou(paper, masks) >= 0.75 - 1e-9).all())
    assert bool((flip_cost(logits, exact) <= flip_cost(logits, paper) + 1e-9).all())


def test_rejects_bad_input():
    logits = torch.zeros(2, 4, 4)
    with pytest.raises(ValueError, match="non-empty"):
        robust_targets(logits, torch.zeros(2, 4, 4, dtype=torch.bool), 0.75)
    with pytest.raises(ValueError, match="bool"):
        robust_targets(logits, torch.ones(2, 4, 4), 0.75)
    with pytest.raises(ValueError, match="iou_threshold"):
        robust_targets(logits, torch.ones(2, 4, 4, dtype=torch.bool), 1.5)


def test_batched_solution_is_each_samples_own_at_112():
    """The flat, batch-wide sort keeps every sample's pools apart: solving the batch gives
    each sample the target it gets alone, at 112x112 with uneven pools (one sample's
    prediction equals its mask: empty pools)."""
    g = torch.Generator().manual_seed(7)
    logits = torch.randn(6, 112, 112, generator=g) * 3
    masks = torch.zeros(6, 112, 112, dtype=torch.bool)
    for i in range(6):
        masks[i, 10 + 5 * i:60 + 8 * i, 20:40 + 10 * i] = True
    logits[2] = torch.where(masks[2], 1.0, -1.0) * logits[2].abs()  # already equal to the mask
    for b in (0.5, 0.75, 1.0):
        batched = robust_targets(logits, masks, b)
        assert torch.equal(batched[2], masks[2])
        for i in range(6):
            alone = robust_targets(logits[i:i + 1], masks[i:i + 1], b)
            assert torch.equal(batched[i:i + 1], alone), (b, i)
        assert bool((iou(batched, masks) >= b - 1e-9).all())
