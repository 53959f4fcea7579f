"""Checkpoints: round trip, atomic write, rejection of corrupt/tampered/mismatched
files, and resume continuing with the same random state."""
import io
import os
import pickle

import numpy as np
import pytest
import torch

from seg_by_interaction.config import load_config
from seg_by_interaction.perception.inference import build_model, load_segmenter
from seg_by_interaction.perception import checkpoint as ck
from seg_by_interaction.training.dataset import InMemorySource
from support.synthetic import blob_examples
from seg_by_interaction.training.trainer import Trainer

SMALL = {"model.trunk_width": 8, "model.window": 64, "model.mask_size": 16,
         "model.embedding_dim": 64, "model.score_hidden": 64, "model.reduce_channels": 32,
         "training.batch_size": 4}


@pytest.fixture(scope="module")
def cfg():
    return load_config(overrides=SMALL)


@pytest.fixture(scope="module")
def source():
    return InMemorySource(blob_examples(np.random.default_rng(0), 3, height=120, width=140,
                                        num_objects=2, size_range=(30, 50)))


def _unfolded(cfg):
    """Segmenters fold BatchNorm into the convolutions (test_perception_fold.py); comparing
    weights with the saved ones needs them as stored."""
    from seg_by_interaction.config import with_overrides
    return with_overrides(cfg, {"inference.fold_batchnorm": False})


def test_round_trip(tmp_path, cfg):
    model = build_model(cfg)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    path = tmp_path / "m.ckpt"
    ck.save_checkpoint(path, model, state={"step": 7, "note": "x"})
    fresh = build_model(cfg)
    state = ck.load_checkpoint(path, fresh, model_cfg=cfg["model"])
    assert state == {"step": 7, "note": "x"}
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values()):
        assert torch.equal(a, b)
    assert [p.name for p in tmp_path.iterdir()] == ["m.ckpt"]  # no temp file left
    seg = load_segmenter(path, _unfolded(cfg))            # the weights as stored
    assert torch.equal(next(seg.model.parameters()), next(model.parameters()))


def test_flipped_byte_is_rejected(tmp_path, cfg):
    path = tmp_path / "m.ckpt"
    ck.save_checkpoint(path, build_model(cfg))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ck.CheckpointError, match="corrupt or was modified"):
        ck.load_checkpoint(path, build_model(cfg))


def test_truncated_and_foreign_files_are_rejected(tmp_path, cfg):
    path = tmp_path / "m.ckpt"
    ck.save_checkpoint(path, build_model(cfg))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ck.CheckpointError):
        ck.load_checkpoint(path, build_model(cfg))
    plain = tmp_path / "plain.pt"
    torch.save(build_model(cfg).state_dict(), plain)
    with pytest.raises(ck.CheckpointError, match="bad header"):
        ck.load_checkpoint(plain, build_model(cfg))
    with pytest.raises(ck.CheckpointError, match="cannot read"):
        ck.load_checkpoint(tmp_path / "missing.ckpt", build_model(cfg))


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/should_not_exist_sbi",))


def test_forged_pickle_with_valid_digest_is_refused(tmp_path, cfg):
    """A payload that would run code is refused even when its digest is right."""
    import hashlib
    buf = io.BytesIO()
    torch.save({"version": ck.VERSION, "model": _Exploit()}, buf, pickle_module=pickle)
    data = buf.getvalue()
    path = tmp_path / "evil.ckpt"
    path.write_bytes(ck.MAGIC + hashlib.sha256(data).hexdigest().encode() + b"\n" + data)
    marker = "/tmp/should_not_exist_sbi"
    if os.path.exists(marker):
        os.unlink(marker)
    with pytest.raises(ck.CheckpointError, match="safe loader"):
        ck.load_checkpoint(path, build_model(cfg))
    assert not os.path.exists(marker)


def test_mismatched_model_is_rejected(tmp_path, cfg):
    path = tmp_path / "m.ckpt"
    ck.save_checkpoint(path, build_model(cfg), model_cfg=cfg["model"])
    other = load_config(overrides={**SMALL, "model.trunk_width": 16})
    with pytest.raises(ck.CheckpointError, match="trunk_width"):
        ck.load_checkpoint(path, build_model(other), model_cfg=other["model"])
    with pytest.raises(ck.CheckpointError, match="does not fit"):
        ck.load_checkpoint(path, build_model(other))


def test_resume_continues_identically(tmp_path, cfg, source):
    a = Trainer(cfg, source=source, mode="rsl")
    a.train_steps(3, progress=False)
    a.save(tmp_path / "t.ckpt")
    after_a = a.train_steps(4, progress=False)
    b = Trainer.resume(tmp_path / "t.ckpt", cfg, source)
    assert b.step == 3 and b.mode == "rsl"
    after_b = b.train_steps(4, progress=False)
    assert after_a["mask_loss"] == pytest.approx(after_b["mask_loss"], rel=1e-5)
    assert after_a["score_loss"] == pytest.approx(after_b["score_loss"], rel=1e-5)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


def test_optional_refinement_head_and_files_from_before_it(tmp_path, cfg):
    """A file written before model.refine_head existed is the plain model and loads; a
    file with the refinement head does not load into a plain model, nor the reverse."""
    plain = build_model(cfg)
    old_cfg = {k: v for k, v in cfg["model"].items() if k != "refine_head"}
    ck.save_checkpoint(tmp_path / "old.pt", plain, model_cfg=old_cfg)
    ck.load_checkpoint(tmp_path / "old.pt", build_model(cfg), model_cfg=cfg["model"])
    rcfg = load_config(overrides={"model.refine_head.enabled": True})
    refined = build_model(rcfg)
    ck.save_checkpoint(tmp_path / "refined.pt", refined, model_cfg=rcfg["model"])
    with pytest.raises(ck.CheckpointError, match="refine_head"):
        ck.load_checkpoint(tmp_path / "refined.pt", build_model(cfg), model_cfg=cfg["model"])
    with pytest.raises(ck.CheckpointError, match="refine_head"):
        ck.load_checkpoint(tmp_path / "old.pt", build_model(rcfg), model_cfg=rcfg["model"])
    ck.load_checkpoint(tmp_path / "refined.pt", build_model(rcfg), model_cfg=rcfg["model"])


def test_pad_mode_is_not_architecture(tmp_path, cfg):
    """model.pad_mode changes how inputs are padded, not the weights: files from before the
    option, and files trained with the other mode, load (so one can measure the effect)."""
    from seg_by_interaction.config import with_overrides
    old_cfg = {k: v for k, v in cfg.model.model_dump().items() if k != "pad_mode"}
    ck.save_checkpoint(tmp_path / "old.pt", build_model(cfg), model_cfg=old_cfg)
    reflect = with_overrides(cfg, {"model.pad_mode": "reflect"})
    ck.load_checkpoint(tmp_path / "old.pt", build_model(reflect), model_cfg=reflect.model)
    ck.load_checkpoint(tmp_path / "old.pt", build_model(cfg), model_cfg=cfg.model)
    changed = with_overrides(cfg, {"model.mask_size": cfg.model.mask_size * 2})
    ck.save_checkpoint(tmp_path / "other.pt", build_model(changed), model_cfg=changed.model)
    with pytest.raises(ck.CheckpointError, match="mask_size"):
        ck.load_checkpoint(tmp_path / "other.pt", build_model(cfg), model_cfg=cfg.model)


def test_ema_served_weights_and_resume(tmp_path, source):
    """training.ema: checkpoints serve the moving average, SGD resumes from the raw weights,
    and the average goes on from where it stopped (not restarted from the raw weights)."""
    cfg = load_config(overrides={**SMALL, "training.ema.enabled": True, "training.ema.decay": 0.9})
    trainer = Trainer(cfg, source=source)
    trainer.train_steps(6, progress=False)
    raw = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    avg = {k: v.clone() for k, v in trainer.served_model.state_dict().items()}
    weights = [k for k, v in raw.items() if v.is_floating_point() and "running" not in k]
    assert any(not torch.equal(raw[k], avg[k]) for k in weights)   # an average, not a copy
    path = tmp_path / "ema.ckpt"
    trainer.save(path)
    served = load_segmenter(path, _unfolded(cfg)).model.state_dict()
    assert all(torch.equal(served[k], avg[k]) for k in avg)
    resumed = Trainer.resume(path, cfg, source=source)
    assert all(torch.equal(resumed.model.state_dict()[k], raw[k]) for k in raw)
    assert all(torch.equal(resumed.served_model.state_dict()[k], avg[k]) for k in avg)
    trainer.train_steps(1, progress=False)
    resumed.train_steps(1, progress=False)
    for k in weights:      # the same next step on both: the average continued, bit for bit
        assert torch.equal(resumed.served_model.state_dict()[k], trainer.served_model.state_dict()[k])


def test_ema_decay_warms_up():
    """The first updates follow the raw weights closely (decay (1+n)/(10+n) < decay)."""
    from seg_by_interaction.training.trainer import ema_update
    avg, cur = [torch.zeros(3)], [torch.ones(3)]
    ema_update(0.999)(avg, cur, 0)          # n = 0: d = 0.1, moves 90 % of the way
    assert torch.allclose(avg[0], torch.full((3,), 0.9))
    avg = [torch.zeros(3)]
    ema_update(0.5)(avg, cur, 10 ** 6)      # late: the configured decay
    assert torch.allclose(avg[0], torch.full((3,), 0.5))


def test_old_checkpoints_keep_only_the_served_weights(tmp_path):
    """training.full_checkpoints: the newest N stay whole (resumable with the optimizer's
    momentum); older ones are rewritten with the served weights alone, still verified and
    still serving the same model, a third of the size."""
    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.training.online import OnlineTrainer, checkpoint_path
    from support.synthetic import add_blob_example
    cfg = load_config(overrides={**SMALL, "training.update_every": 1, "training.steps_per_update": 1,
                                 "training.pretrain_steps": 1, "training.batch_size": 2,
                                 "training.full_checkpoints": 2})
    assert cfg.training.ema.enabled       # the default: a file holds served + raw weights
    rng = np.random.default_rng(0)
    store = DatasetStore(tmp_path / "store", cfg)

    def add(source, k):
        add_blob_example(store, rng, source, k)

    add("passive", 0)
    online = OnlineTrainer(cfg, tmp_path)
    online.pretrain()
    served = {}
    for k in range(4):
        add("interaction", k)
        info = online.maybe_update()
        served[info.version] = {n: t.clone() for n, t in online.trainer.served_model.state_dict().items()}
    online.close()
    store.close()
    assert info.version == 5
    payloads = {v: ck.read_checkpoint(checkpoint_path(tmp_path / "checkpoints", v)) for v in range(1, 6)}
    for v, payload in payloads.items():
        whole = v > 5 - 2
        assert (payload["optimizer"] is not None) == whole, v
        assert (payload["train_model"] is not None) == whole, v
        assert payload["state"]["extra"]["version"] == v            # what replays and reports read
    for v in (2, 3):   # slimmed, yet the same served weights load into the preset's model
        model = build_model(cfg)
        ck.load_checkpoint(checkpoint_path(tmp_path / "checkpoints", v), model, model_cfg=cfg.model)
        assert all(torch.equal(model.state_dict()[n], t) for n, t in served[v].items())
    size = {v: os.path.getsize(checkpoint_path(tmp_path / "checkpoints", v)) for v in (3, 4)}
    assert size[3] < 0.6 * size[4]
    assert not ck.slim_checkpoint(checkpoint_path(tmp_path / "checkpoints", 3))   # already slim
