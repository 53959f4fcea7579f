"""Training on several processes through PyTorch's DistributedDataParallel (gloo on CPU,
2 processes): the gradients equal one process's on the concatenated batch, the
processes stay in lockstep through the real sampling pipeline, and only rank 0 writes
checkpoints. The same code runs on GPUs under torchrun with NCCL."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.multiprocessing as mp

from seg_by_interaction.config import load_config
from seg_by_interaction.training.trainer import Trainer

SMALL = {"model.trunk_width": 16, "model.window": 64, "model.mask_size": 16,
         "model.embedding_dim": 64, "model.score_hidden": 64, "model.reduce_channels": 32,
         "training.batch_size": 4, "torch_threads": 1}
HALF = 4  # windows per process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _join(rank: int, world: int, port: int) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from seg_by_interaction.training import distributed
    info = distributed.init_from_env("cpu")
    assert (info.rank, info.world_size, info.backend) == (rank, world, "gloo")


def _batch(cfg: dict):
    """A fixed batch of 2 * HALF windows with mask targets and score labels."""
    g = torch.Generator().manual_seed(123)
    w, m = cfg["model"]["window"], cfg["model"]["mask_size"]
    images = torch.randint(0, 256, (2 * HALF, 3, w, w), generator=g, dtype=torch.uint8)
    masks = torch.rand((2 * HALF, m, m), generator=g) > 0.5
    labels = (torch.rand(2 * HALF, generator=g) > 0.5).float()
    return images, masks, labels


def _gradients(trainer: Trainer, images, masks, labels) -> dict[str, dict[str, np.ndarray]]:
    """Gradients of one mask-head step and one score-head step (the trainer's losses).

    BatchNorm is put in eval mode: on CPU each process normalises with its own share of
    the batch (SyncBatchNorm is CUDA-only), which is the one legitimate difference.
    """
    trainer.net.train()
    for mod in trainer.model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.eval()
    x = trainer.model.normalise(images)
    out = {}
    for head in ("mask", "score"):
        trainer.optimizer.zero_grad(set_to_none=True)
        if head == "mask":
            loss, _, _ = trainer._mask_loss((x, masks, torch.ones(len(x), dtype=torch.bool)))
        else:
            loss, _ = trainer._score_loss((x, labels))
        loss.backward()
        out[head] = {n: p.grad.detach().clone().numpy()
                     for n, p in trainer.model.named_parameters() if p.grad is not None}
    return out


def _gradient_worker(rank: int, world: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    _join(rank, world, port)
    cfg = load_config(overrides=SMALL)
    trainer = Trainer(cfg, mode="ce")
    assert isinstance(trainer.net, torch.nn.parallel.DistributedDataParallel)
    images, masks, labels = _batch(cfg)
    share = slice(rank * HALF, (rank + 1) * HALF)
    grads = _gradients(trainer, images[share], masks[share], labels[share])
    torch.save(grads, Path(out_dir) / f"grads_rank{rank}.pt")
    from seg_by_interaction.training import distributed
    distributed.shutdown()


def test_ddp_gradients_equal_one_process_on_the_concatenated_batch(tmp_path):
    port = _free_port()
    mp.start_processes(_gradient_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True,
                       start_method="spawn")
    cfg = load_config(overrides=SMALL)
    single = _gradients(Trainer(cfg, mode="ce"), *_batch(cfg))
    for rank in (0, 1):
        ddp = torch.load(tmp_path / f"grads_rank{rank}.pt", weights_only=False)
        for head in ("mask", "score"):
            assert set(ddp[head]) == set(single[head]), head
            # the head that did not run gets no gradient, in both set-ups
            other = "score_head" if head == "mask" else "mask_head"
            assert not any(n.startswith(other) for n in ddp[head])
            for name, g in single[head].items():
                np.testing.assert_allclose(ddp[head][name], g, rtol=1e-4, atol=1e-6,
                                           err_msg=f"{head} step, {name}, rank {rank}")


def _half_batch_differs(cfg) -> None:
    """Sanity check of the comparison above: half a batch alone gives other gradients."""
    images, masks, labels = _batch(cfg)
    full = _gradients(Trainer(cfg, mode="ce"), images, masks, labels)
    half = _gradients(Trainer(cfg, mode="ce"), images[:HALF], masks[:HALF], labels[:HALF])
    diff = max(float(np.abs(full["mask"][n] - half["mask"][n]).max()) for n in full["mask"])
    assert diff > 1e-4


def test_half_a_batch_alone_gives_different_gradients():
    _half_batch_differs(load_config(overrides=SMALL))


def test_training_entry_point_runs_under_torchrun_in_lockstep(tmp_path):
    """torchrun with 2 CPU processes: pre-training and one update on a real store; only
    rank 0 writes checkpoints, and they load."""
    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.training.online import list_checkpoints
    from seg_by_interaction.perception.checkpoint import read_checkpoint
    from support.synthetic import blob_examples
    cfg = load_config(overrides=SMALL)
    store = DatasetStore(tmp_path / "store", cfg)
    rng = np.random.default_rng(0)
    for source in ("passive", "interaction"):
        for i, ex in enumerate(blob_examples(rng, 3, source=source, height=120, width=140,
                                             num_objects=2)):
            store.add(ex, robot_id="robot0", interaction_id=f"{source}{i}")
    store.close()
    overrides = ["--set", "training.pretrain_steps=3", "--set", "training.steps_per_update=2",
                 "--set", "training.update_every=1"]
    for k, v in SMALL.items():
        overrides += ["--set", f"{k}={v}"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           f"--master_port={_free_port()}", "-m", "seg_by_interaction.training",
           "--data-dir", str(tmp_path), "--device", "cpu", "--updates", "1", *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "2 process(es), backend gloo" in out.stdout
    found = list_checkpoints(tmp_path / "checkpoints")
    assert [v for v, _ in found] == [1, 2], out.stdout
    extra = read_checkpoint(found[-1][1])["state"]["extra"]
    assert extra["version"] == 2 and extra["examples_seen"] >= 1
    # one line per update: rank 1 prints nothing
    assert out.stdout.count("[train] model v2") == 1
