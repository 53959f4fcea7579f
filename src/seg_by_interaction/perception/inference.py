"""Whole-frame segmentation: dense scores over a pyramid derived from the frame, the mask head on
the best windows only, masks pasted back to full resolution and snapped to colour
superpixels (``inference.refine``), greedy mask NMS.

On the 2-core target one torch thread per process is fastest (runtime.py), so the
parallelism is between tasks instead: the pyramid's levels and the frame's superpixels
run on ``inference.workers`` Python threads (torch and scikit-image release the GIL)."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from seg_by_interaction.perception.checkpoint import load_checkpoint
from seg_by_interaction.perception.model import STRIDE, DeepMask
from seg_by_interaction.perception.nms import greedy_mask_nms, mask_box, paste_mask
from seg_by_interaction.perception.refine import SuperpixelSnapper
from seg_by_interaction.runtime import apply_runtime, autocast, compute_dtype, torch_threads
from seg_by_interaction.perception.windows import (border_fill, check_image, pad_image,
                                                  pyramid_scales, resize)
from seg_by_interaction.types import Hypothesis


def _set_torch_threads(threads: int) -> None:
    if threads > 0:
        torch.set_num_threads(threads)


class Segmenter:
    """Object hypotheses for an RGB frame from a DeepMask model (``cfg`` = the full
    configuration; its ``inference`` section sets the pyramid, thresholds and NMS)."""

    def __init__(self, model: DeepMask, cfg: dict, device: str = "cpu"):
        apply_runtime(cfg)
        self.cfg = cfg.inference
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.model_cfg = cfg.model
        self.snapper = SuperpixelSnapper(self.cfg.refine)
        self.pad = int(round(float(self.cfg.pad_fraction) * model.window))
        self.fill = "reflect" if isinstance(border_fill(cfg.model), str) else "constant"
        self.channels_last = bool(self.cfg.channels_last)
        self.dtype = compute_dtype(self.cfg.precision, device)
        self.workers = int(self.cfg.workers)
        if self.workers < 1:
            raise ValueError(f"inference.workers must be >= 1, got {self.workers}")
        self._threads = torch_threads(cfg)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        """The worker threads, started on first use (each with the process's torch thread
        count: torch's setting is per thread)."""
        with self._pool_lock:
            if self._pool is None:
                # the initializer must not refer to self: the threads keep it, and a
                # segmenter replaced by a newer model must be freed with its threads
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="segment",
                                                initializer=_set_torch_threads,
                                                initargs=(self._threads,))
            return self._pool

    def close(self):
        """Stop the worker threads now (they also end when the segmenter is freed)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def _run_parallel(self, tasks):
        """Results of the zero-argument callables ``tasks``, in order; submitted in that
        order, so put the longest first (with 2 workers the finish then balances)."""
        if self.workers == 1:
            return [task() for task in tasks]
        pool = self._executor()
        futures = [pool.submit(self._in_inference_mode, task) for task in tasks]
        return [f.result() for f in futures]

    @staticmethod
    def _in_inference_mode(task):
        with torch.inference_mode():      # inference mode is per thread
            return task()

    def scales(self, frame_hw) -> list[float]:
        """This frame's pyramid (perception/windows.py pyramid_scales)."""
        return pyramid_scales(self.cfg, self.model_cfg, frame_hw)

    def _dense_scores(self, image: np.ndarray, extra=()):
        """Per pyramid level: (scale, score logits [h, w], embeddings [D, h, w], the stem's
        stride-2 features [C, H/2, W/2] for the refinement head or None); then the results
        of the callables ``extra``, run alongside the levels."""
        scales = self.scales(image.shape[:2])
        order = sorted(range(len(scales)), key=lambda i: -scales[i])  # largest first
        tasks = [lambda s=scales[i]: self._level(image, s) for i in order]
        # the extra tasks go after the two largest levels: they overlap the rest
        at = min(2, len(tasks))
        tasks[at:at] = list(extra)
        results = self._run_parallel(tasks)
        extra_results = results[at:at + len(extra)]
        del results[at:at + len(extra)]
        levels = [None] * len(scales)
        for i, level in zip(order, results):
            levels[i] = level
        return levels, extra_results

    def _level(self, image: np.ndarray, s: float):
        """One pyramid level of :meth:`_dense_scores`."""
        scaled = resize(image, s)
        h, w = scaled.shape[:2]
        # pad by `pad` on all sides, then up to a multiple of the stride, as training
        # windows are padded (model.pad_mode)
        ph = self.pad + (-(h + 2 * self.pad) % STRIDE)
        pw = self.pad + (-(w + 2 * self.pad) % STRIDE)
        if self.fill == "reflect":
            scaled = pad_image(scaled, self.pad, ph, self.pad, pw, "reflect")
        x = torch.from_numpy(np.ascontiguousarray(scaled)).permute(2, 0, 1)[None]
        x = self.model.normalise(x.to(self.device))
        if self.fill != "reflect":       # zeros after normalising = the mean colour exactly
            x = torch.nn.functional.pad(x, (self.pad, pw, self.pad, ph))
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.dtype, self.device.type):      # per thread: entered here
            if self.model.refiner is not None:
                emb, skip = self.model.embed_with_skip(x)
            else:
                emb, skip = self.model.embed(x), None
            scores = self.model.scores(emb)
        return (s, scores[0].float(), emb[0].float(),
                None if skip is None else skip[0].float())

    def _mask_logits(self, levels, cand) -> torch.Tensor:
        """Mask logits of the chosen windows: the head's own, refined when the model has
        the refinement head (each window's stride-2 features cut from its level's map)."""
        vectors = torch.stack([levels[int(li)][2][:, int(r), int(c)] for _, li, r, c in cand])
        with autocast(self.dtype, self.device.type):
            coarse = self.model.masks(vectors)
            if self.model.refiner is None:
                return coarse.float()
            half = self.model.window // 2
            step = STRIDE // 2                      # a window step of 16 px is 8 skip cells
            skips = torch.stack([levels[int(li)][3][:, step * int(r):step * int(r) + half,
                                                    step * int(c):step * int(c) + half]
                                 for _, li, r, c in cand])
            return self.model.refine(coarse, skips).float()

    @torch.inference_mode()
    def segment(self, image: np.ndarray, max_hypotheses: int | None = None,
                min_score: float | None = None) -> list[Hypothesis]:
        """Hypotheses (bool mask at the frame's resolution, score, box), best first."""
        check_image(image)
        cfg = self.cfg
        pixels = image.shape[0] * image.shape[1]
        if pixels > int(cfg.max_image_pixels):
            raise ValueError(f"image too large: {image.shape[1]}x{image.shape[0]} is {pixels} "
                             f"pixels, the limit is {cfg.max_image_pixels} "
                             f"(inference.max_image_pixels); downscale it before segmenting")
        max_hyp = int(cfg.max_hypotheses if max_hypotheses is None else max_hypotheses)
        min_score = float(cfg.score_threshold if min_score is None else min_score)
        snapping = self.snapper.enabled
        levels, extra = self._dense_scores(
            image, extra=[lambda: self.snapper.superpixels(image)] if snapping else [])
        superpixels = extra[0] if snapping else None

        cand = []  # (logit, level, row, col)
        for li, (_, scores, _, _) in enumerate(levels):
            flat = scores.flatten()
            rows, cols = np.divmod(np.arange(flat.numel()), scores.shape[1])
            cand.append(np.stack([flat.cpu().numpy(), np.full(flat.numel(), li), rows, cols], 1))
        cand = np.concatenate(cand)
        prob = 1.0 / (1.0 + np.exp(-cand[:, 0]))
        cand, prob = cand[prob >= min_score], prob[prob >= min_score]
        top = np.argsort(-prob, kind="stable")[:int(cfg.mask_top_k)]
        if len(top) == 0:
            return []
        cand, prob = cand[top], prob[top]
        mask_prob = torch.sigmoid(self._mask_logits(levels, cand)).cpu().numpy()

        hw = image.shape[:2]
        window = self.model.window
        masks, scores = [], []
        for (_, li, r, c), p, mp in zip(cand, prob, mask_prob):
            s = levels[int(li)][0]
            x0 = (STRIDE * c - self.pad) / s
            y0 = (STRIDE * r - self.pad) / s
            masks.append(paste_mask(mp, x0, y0, window / s, hw, float(cfg.mask_threshold)))
            scores.append(float(p))
        masks = self.snapper.snap(image, np.stack(masks), labels=superpixels)
        big = masks.sum(axis=(1, 2)) > int(cfg.min_mask_pixels)
        masks, scores = masks[big], [sc for sc, b in zip(scores, big) if b]
        if not len(masks):
            return []
        keep = greedy_mask_nms(masks, np.asarray(scores), float(cfg.nms_iou), max_hyp)
        return [Hypothesis(mask=masks[i], score=scores[i], box=mask_box(masks[i])) for i in keep]


def build_model(cfg: dict) -> DeepMask:
    """A randomly initialised model, seeded by the configuration's ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return DeepMask(cfg.model)


def load_segmenter(checkpoint_path: str | os.PathLike | None, cfg: dict,
                   device: str = "cpu") -> Segmenter:
    """A Segmenter from a trainer checkpoint, or from a seeded random model when
    ``checkpoint_path`` is None (before any training)."""
    model = build_model(cfg)
    if checkpoint_path is not None:
        load_checkpoint(checkpoint_path, model, model_cfg=cfg.model)
    if cfg.inference.fold_batchnorm:        # this segmenter owns the model: fold it
        from seg_by_interaction.perception.fold import fold_batchnorm
        model = fold_batchnorm(model)
    return Segmenter(model, cfg, device=device)
