"""The trainer: windows from any ExampleSource, heads on alternating batches, the
mask head against robust-set-loss targets (or plain cross-entropy), SGD with
momentum, weight decay, gradient clipping and a step schedule; resumable.

Modes: "rsl" (self-supervised with the robust set loss; examples whose source is in
rsl.clean_sources still get plain CE), "ce" (self-supervised, plain cross-entropy),
"gt" (the oracle baseline: plain cross-entropy on ground-truth examples, same
network and budget). "+human" is "rsl" over a MixedSource.
"""
from __future__ import annotations

import json
import os
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from seg_by_interaction.perception.inference import build_model
from seg_by_interaction.perception.model import DeepMask
from seg_by_interaction.perception.rsl import robust_targets
from seg_by_interaction.runtime import apply_runtime, autocast, compute_dtype
from seg_by_interaction.training import distributed
from seg_by_interaction.perception.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from seg_by_interaction.training.dataset import ExampleSource
from seg_by_interaction.training.sampling import WindowSampler

MODES = ("rsl", "ce", "gt")


class TrainingStopped(RuntimeError):
    """``should_stop`` fired between two optimiser steps (a node shutting down): the steps of
    this call are abandoned, nothing is saved; the last checkpoint stays the model."""


def ema_update(decay: float):
    """AveragedModel's multi_avg_fn for an exponential moving average whose decay warms up
    as min(decay, (1 + n) / (10 + n)) over the first updates n: the average does not drag
    the untrained weights along for thousands of steps."""
    @torch.no_grad()
    def update(averaged, current, n_averaged):
        d = min(float(decay), (1.0 + float(n_averaged)) / (10.0 + float(n_averaged)))
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1.0 - d)
        else:                           # counters (BatchNorm's num_batches_tracked)
            for a, c in zip(averaged, current):
                a.copy_(c)
    return update


def learning_rate(lr_steps, at: int) -> float:
    """The lr of the last [from, lr] entry with from <= ``at`` (a step or an example count,
    as training.lr_clock says)."""
    lr = float(lr_steps[0][1])
    for start, value in lr_steps:
        if at >= int(start):
            lr = float(value)
    return lr


class Trainer:
    def __init__(self, cfg: dict, model: DeepMask | None = None,
                 source: ExampleSource | None = None, device: str = "cpu",
                 mode: str | None = None, metrics_path: str | os.PathLike | None = None):
        if mode is None:
            mode = "rsl" if cfg.rsl.enabled else "ce"
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got '{mode}'")
        apply_runtime(cfg)
        self.cfg, self.mode = cfg, mode
        self.tcfg = cfg.training
        self.device = torch.device(device)
        self.dtype = compute_dtype(self.tcfg.precision, device)   # the network's; losses float32
        self.model = (model if model is not None else build_model(cfg)).to(self.device)
        # training.ema: readers are served an exponential moving average of the weights
        # (BatchNorm statistics included); SGD continues from the raw ones
        ema = self.tcfg.ema
        self.ema = torch.optim.swa_utils.AveragedModel(
            self.model, multi_avg_fn=ema_update(float(ema.decay)), use_buffers=True) \
            if ema.enabled else None
        # under torchrun: DDP averages gradients over processes; each draws its own windows
        self.net = distributed.wrap_model(self.model)
        self.source = source
        seed = cfg.seed
        self.rng = np.random.default_rng(seed if distributed.is_main() else [seed, distributed.rank()])
        self.sampler = WindowSampler(cfg, self.rng)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=learning_rate(self.tcfg.lr_steps, 0),
            momentum=float(self.tcfg.momentum),
            weight_decay=float(self.tcfg.weight_decay))
        self.step = 0
        # interaction examples the data held when the current steps were taken: the clock of
        # training.lr_clock "examples" (set by whoever feeds the trainer a growing set; a
        # trainer on a fixed set leaves it 0 and keeps the schedule's first rate)
        self.examples_seen = 0
        # a run started from a model trains at one rate (adapt.lr), not along the schedule
        self.lr_override: float | None = None
        self.metrics_path = metrics_path
        self.log: list[dict] = []
        self.should_stop: Callable[[], bool] = lambda: False   # checked between steps

    def set_source(self, source: ExampleSource) -> None:
        self.source = source

    # ------------------------------------------------------------------ batches
    def _draw(self):
        n = len(self.source)
        return self.source[int(self.rng.integers(n))]

    def _mask_batch(self):
        """(windows, noisy masks, clean flags) from positive examples, or None."""
        bs = int(self.tcfg.batch_size)
        wins, masks, clean = [], [], []
        clean_sources = set(self.cfg.rsl.clean_sources) | (
            {"interaction", "passive", "ground_truth"} if self.mode != "rsl" else set())
        for _ in range(bs * int(self.tcfg.max_sampling_tries)):
            ex = self._draw()
            if not ex.positive:
                continue
            win, mask = self.sampler.positive(ex)
            if not mask.any():  # object too small to survive at mask resolution
                continue
            wins.append(win)
            masks.append(mask)
            clean.append(ex.source in clean_sources)
            if len(wins) == bs:
                break
        if not wins:
            return None
        return self._tensor(wins), torch.from_numpy(np.stack(masks)).to(self.device), \
            torch.tensor(clean, device=self.device)

    def _score_batch(self):
        bs = int(self.tcfg.batch_size)
        wins, labels = [], []
        for _ in range(bs):
            ex = self._draw()
            if self.rng.random() < float(self.tcfg.random_negative_fraction):
                wins.append(self.sampler.random_negative(ex))
                labels.append(0.0)
            elif not ex.positive:
                wins.append(self.sampler.negative(ex))
                labels.append(0.0)
            elif self.rng.random() < float(self.tcfg.hard_negative_fraction):
                wins.append(self.sampler.hard_negative(ex))
                labels.append(0.0)
            else:
                wins.append(self.sampler.positive(ex)[0])
                labels.append(1.0)
        return self._tensor(wins), torch.tensor(labels, device=self.device)

    def _tensor(self, wins):
        x = torch.from_numpy(np.stack(wins)).permute(0, 3, 1, 2).to(self.device)
        return self.model.normalise(x)

    # ------------------------------------------------------------------ losses
    def _mask_loss(self, batch):
        x, noisy, clean = batch
        with autocast(self.dtype, self.device.type):
            _, logits = self.net(x, heads=("mask",))
        logits = logits.float()
        target = noisy
        flip_rate = 0.0
        if self.mode == "rsl" and not bool(clean.all()):
            robust = robust_targets(logits.detach().float(), noisy,
                                    float(self.cfg.rsl.iou_threshold))
            target = torch.where(clean[:, None, None], noisy, robust)
            flip_rate = float((target != noisy).float().mean())
        loss = F.binary_cross_entropy_with_logits(logits, target.float())
        return loss, flip_rate, len(x)

    def _score_loss(self, batch):
        x, labels = batch
        with autocast(self.dtype, self.device.type):
            scores, _ = self.net(x, heads=("score",))
        return F.binary_cross_entropy_with_logits(scores.float(), labels), len(x)

    # ------------------------------------------------------------------ training
    def train_steps(self, n: int, progress: bool = True) -> dict:
        """Run n optimiser steps on windows from the current source; returns the mean
        metrics of these steps (loss per head, RSL flip rate, examples/s, lr, step)."""
        if self.source is None or len(self.source) == 0:
            raise ValueError("the trainer has no examples (set_source with a non-empty source)")
        from tqdm import tqdm
        self.net.train()
        t = self.tcfg
        sums = {"mask_loss": [], "score_loss": [], "rsl_flip_rate": []}
        examples, skipped_mask = 0, 0
        t0 = time.perf_counter()
        bar = tqdm(range(n), desc=f"train[{self.mode}]", disable=not progress or not distributed.is_main(),
                   leave=False)
        for i in bar:
            if self.should_stop():
                bar.close()
                raise TrainingStopped(f"stopped after {i} of {n} steps")
            lr = self.learning_rate(self.step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            heads = (("mask",) if self.step % 2 == 0 else ("score",)) \
                if t["alternate_heads"] else ("mask", "score")
            loss = torch.zeros((), device=self.device)
            if "mask" in heads:
                batch = self._mask_batch()
                if batch is None:
                    skipped_mask += 1
                    heads = ("score",)
                else:
                    mask_loss, flip_rate, count = self._mask_loss(batch)
                    loss = loss + float(t["mask_loss_weight"]) * mask_loss
                    sums["mask_loss"].append(mask_loss.item())
                    sums["rsl_flip_rate"].append(flip_rate)
                    examples += count
            if "score" in heads:
                score_loss, count = self._score_loss(self._score_batch())
                loss = loss + float(t["score_loss_weight"]) * score_loss
                sums["score_loss"].append(score_loss.item())
                examples += count
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), float(t["grad_clip"]))
            self.optimizer.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            self.step += 1
            if progress and sums["mask_loss"] and sums["score_loss"]:
                bar.set_postfix(mask=f"{sums['mask_loss'][-1]:.3f}",
                                score=f"{sums['score_loss'][-1]:.3f}")
            if self.step % int(t["log_every"]) == 0:
                self._log(self._summary(sums, examples, t0, skipped_mask, lr))
        self.net.eval()
        summary = self._summary(sums, examples, t0, skipped_mask,
                                self.learning_rate(max(self.step - 1, 0)))
        return summary

    def learning_rate(self, step: int) -> float:
        """The rate of optimiser step ``step``: ``lr_override`` when set, else the schedule,
        read at the step or at ``examples_seen`` (training.lr_clock)."""
        if self.lr_override is not None:
            return float(self.lr_override)
        at = self.examples_seen if self.tcfg.lr_clock == "examples" else step
        return learning_rate(self.tcfg.lr_steps, at)

    def _summary(self, sums, examples, t0, skipped_mask, lr):
        out = {k: (float(np.mean(v)) if v else float("nan")) for k, v in sums.items()}
        out.update(step=self.step, lr=lr, examples=examples, mask_batches_skipped=skipped_mask,
                   examples_per_s=examples / max(time.perf_counter() - t0, 1e-9))
        return out

    def _log(self, record: dict) -> None:
        self.log.append(record)
        if self.metrics_path is not None and distributed.is_main():
            with open(self.metrics_path, "a") as f:
                f.write(json.dumps({"mode": self.mode, **record}) + "\n")

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict:
        # training draws only from the seeded numpy generator; torch's global generator is
        # seeded at random per process and would make two runs' checkpoints differ
        state = {"step": self.step, "mode": self.mode, "examples_seen": self.examples_seen,
                 "numpy_rng": self.rng.bit_generator.state}
        if self.lr_override is not None:
            state["lr_override"] = float(self.lr_override)
        return state

    def save(self, path: str | os.PathLike, extra: dict | None = None) -> None:
        """Atomically write everything needed to resume; ``extra`` (JSON-able) rides along
        in the state, e.g. the online trainer's model version and examples seen."""
        state = self._state()
        if extra:
            state["extra"] = dict(extra)
        save_checkpoint(path, self.served_model, self.optimizer, state,
                        model_cfg=self.cfg.model,
                        train_model=self.model if self.ema is not None else None)

    @property
    def served_model(self) -> DeepMask:
        """The weights segmenters get: the moving average with training.ema, else the raw."""
        return self.model if self.ema is None else self.ema.module

    @classmethod
    def resume(cls, path: str | os.PathLike, cfg: dict, source: ExampleSource | None = None,
               device: str = "cpu", mode: str | None = None,
               metrics_path: str | os.PathLike | None = None) -> "Trainer":
        """A trainer continuing exactly where ``save`` left it (weights, optimizer,
        step, random state); ``mode`` defaults to the saved one."""
        saved_mode = read_checkpoint(path)["state"].get("mode")
        trainer = cls(cfg, source=source, device=device, mode=mode or saved_mode,
                      metrics_path=metrics_path)
        if trainer.ema is None:
            state = load_checkpoint(path, trainer.model, trainer.optimizer, model_cfg=cfg.model)
        else:   # the average goes on from the served weights, SGD from the raw ones
            state = load_checkpoint(path, trainer.ema.module, trainer.optimizer,
                                    model_cfg=cfg.model, train_model=trainer.model)
            trainer.ema.n_averaged.fill_(max(int(state["step"]), 1))
        trainer.step = int(state["step"])
        trainer.examples_seen = int(state.get("examples_seen", 0))
        trainer.rng.bit_generator.state = state["numpy_rng"]
        if state.get("lr_override") is not None:
            trainer.lr_override = float(state["lr_override"])
        return trainer
