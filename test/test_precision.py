"""Mixed precision: the network computes in bfloat16 where the CPU has it natively, its
weights and everything it hands out stay float32, and the results match float32's."""
import numpy as np
import pytest
import torch

from seg_by_interaction.config import load_config
from seg_by_interaction.perception.inference import load_segmenter
from seg_by_interaction.runtime import autocast, compute_dtype, native_bfloat16

SMALL = {"model.trunk_width": 8, "model.window": 64, "model.mask_size": 16,
         "model.embedding_dim": 64, "model.score_hidden": 64, "model.reduce_channels": 32}


def test_the_precision_names_choose_the_dtype_and_auto_follows_the_hardware():
    assert compute_dtype("float32", "cpu") == torch.float32
    assert compute_dtype("bfloat16", "cpu") == torch.bfloat16
    assert compute_dtype("auto", "cuda:0") == torch.float32          # a GPU preset says so itself
    assert compute_dtype("auto", "cpu") == (torch.bfloat16 if native_bfloat16() else torch.float32)
    with pytest.raises(ValueError, match="precision"):
        compute_dtype("half", "cpu")
    with autocast(torch.float32, "cpu"):
        assert not torch.is_autocast_enabled("cpu")
    with autocast(torch.bfloat16, "cpu"):
        assert torch.is_autocast_enabled("cpu")


@pytest.mark.parametrize("key", ["inference.precision", "training.precision"])
def test_an_unknown_precision_is_refused_naming_the_key(key):
    with pytest.raises(Exception, match=key.split(".")[0] + r"[.\s\S]*precision"):
        load_config(overrides={key: "half"})


def _conv_dtypes(model):
    """Record the dtype of the first convolution's output on every forward pass."""
    seen = []
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    first.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    return seen


def _scene():
    """Five coloured ellipses of 28-70 px on a textured grey table."""
    import cv2
    rng = np.random.default_rng(0)
    img = rng.normal(120, 12, (240, 320, 3)).clip(0, 255).astype(np.uint8)
    for (cx, cy, a, b, angle), colour in zip(
            [(70, 60, 30, 18, 20), (200, 170, 22, 22, 0), (250, 70, 35, 15, -30),
             (100, 180, 25, 12, 60), (160, 100, 14, 14, 0)],
            [(220, 40, 40), (40, 200, 60), (30, 60, 210), (230, 200, 40), (200, 60, 200)]):
        cv2.ellipse(img, (cx, cy), (a, b), angle, 0, 360, colour, -1)
    return img


def test_a_bfloat16_segmenter_computes_in_bfloat16_and_answers_like_float32():
    from seg_by_interaction.perception.shipped import shipped_model
    cfg32 = load_config(overrides={"inference.precision": "float32"})
    cfg16 = load_config(overrides={"inference.precision": "bfloat16"})
    a, b = load_segmenter(shipped_model(), cfg32), load_segmenter(shipped_model(), cfg16)
    seen32, seen16 = _conv_dtypes(a.model), _conv_dtypes(b.model)
    h32, h16 = a.segment(_scene()), b.segment(_scene())
    assert set(seen32) == {torch.float32} and set(seen16) == {torch.bfloat16}
    assert len(h32) >= 3 and len(h16) > 0
    assert all(h.mask.dtype == bool and isinstance(h.score, float) for h in h16)
    assert all(p.dtype == torch.float32 for p in b.model.parameters())   # weights untouched
    # every confident float32 hypothesis has a bfloat16 twin: the same mask up to its edge
    # and a close score
    for h in [h for h in h32 if h.score > 0.3]:
        iou = [(h.mask & k.mask).sum() / max((h.mask | k.mask).sum(), 1) for k in h16]
        best = int(np.argmax(iou))
        assert iou[best] > 0.8 and abs(h16[best].score - h.score) < 0.05, (h.score, iou[best])


def test_a_bfloat16_trainer_learns_with_float32_weights_and_checkpoints(tmp_path):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from support.synthetic import blob_examples
    from seg_by_interaction.perception.checkpoint import read_checkpoint
    from seg_by_interaction.training.dataset import InMemorySource
    from seg_by_interaction.training.trainer import Trainer
    cfg = load_config(overrides={**SMALL, "training.precision": "bfloat16", "training.batch_size": 4,
                                 "training.ema.enabled": False})
    trainer = Trainer(cfg, source=InMemorySource(blob_examples(np.random.default_rng(0), 4, noise=0.0)),
                      mode="rsl")
    seen = _conv_dtypes(trainer.model)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    out = trainer.train_steps(6, progress=False)
    assert seen and set(seen) == {torch.bfloat16}
    assert np.isfinite(out["mask_loss"]) and np.isfinite(out["score_loss"])
    params = list(trainer.model.parameters())
    assert all(p.dtype == torch.float32 for p in params)
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in params)
    assert any(not torch.equal(p0, p1) for p0, p1 in zip(before, trainer.model.parameters()))
    trainer.save(tmp_path / "t.pt")
    state = read_checkpoint(tmp_path / "t.pt")
    weights = [v for v in state["model"].values() if torch.is_floating_point(v)]
    assert weights and all(v.dtype == torch.float32 for v in weights)
