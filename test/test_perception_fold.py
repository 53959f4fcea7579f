"""Folding BatchNorm into the convolutions changes nothing a segmenter computes."""
import copy

import numpy as np
import torch

from seg_by_interaction.config import load_config
from seg_by_interaction.perception.fold import fold_batchnorm
from seg_by_interaction.perception.inference import build_model, load_segmenter

# float32: folding is exact up to float rounding; bfloat16 rounds each path its own way
SMALL = {"model.trunk_width": 8, "model.window": 64, "model.mask_size": 16,
         "model.embedding_dim": 64, "model.score_hidden": 64, "model.reduce_channels": 32,
         "inference.precision": "float32"}


def _with_running_statistics(model):
    """BatchNorms with statistics and affine terms far from the identity (as after training)."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g))
            m.running_var.copy_(torch.rand(n, generator=g) * 2 + 0.2)
            m.weight.data.copy_(torch.randn(n, generator=g))
            m.bias.data.copy_(torch.randn(n, generator=g))
    return model.eval()


def test_a_folded_model_has_no_batchnorm_and_the_same_outputs():
    cfg = load_config(overrides=SMALL)
    model = _with_running_statistics(build_model(cfg))
    folded = fold_batchnorm(copy.deepcopy(model))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        s0, m0 = model(x)
        s1, m1 = folded(x)
        f0, f1 = model.trunk(x), folded.trunk(x)
    assert torch.allclose(f0, f1, atol=1e-4, rtol=1e-4) and not torch.allclose(f0, torch.zeros_like(f0))
    assert torch.allclose(s0, s1, atol=1e-4) and torch.allclose(m0, m1, atol=1e-4)


def test_segmenters_from_checkpoints_fold_unless_told_not_to(tmp_path):
    from seg_by_interaction.perception.checkpoint import save_checkpoint
    cfg = load_config(overrides=SMALL)
    model = _with_running_statistics(build_model(cfg))
    save_checkpoint(tmp_path / "m.pt", model, None, {"step": 0}, model_cfg=cfg.model)
    folded = load_segmenter(tmp_path / "m.pt", cfg)
    plain = load_segmenter(tmp_path / "m.pt", load_config(overrides={**SMALL, "inference.fold_batchnorm": False}))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.model.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.model.modules())
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    a, b = folded.segment(image), plain.segment(image)
    assert len(a) == len(b) and len(a) > 0
    for h, k in zip(a, b):
        assert abs(h.score - k.score) < 1e-3 and (h.mask != k.mask).mean() < 0.01
