"""The trainer learns: a tiny set is overfitted, and after brief training on blob
scenes whole-frame inference finds the blobs. Plus sources, modes and schedule."""
import time

import numpy as np
import pytest
import torch

from seg_by_interaction.config import load_config
from seg_by_interaction.perception.inference import Segmenter
from seg_by_interaction.perception.rsl import iou
from seg_by_interaction.perception.windows import cut_window, fill_colour
from seg_by_interaction.training.dataset import ExampleSource, InMemorySource, MixedSource
from seg_by_interaction.training.sampling import mask_box_centre_and_size
from support.synthetic import blob_examples, blob_scene
from seg_by_interaction.training.trainer import Trainer, learning_rate
from seg_by_interaction.types import Example

SMALL = {"model.trunk_width": 16, "model.window": 64, "model.mask_size": 16,
         "model.embedding_dim": 128, "model.score_hidden": 128, "model.reduce_channels": 64,
         "training.batch_size": 8}
NO_JITTER = {"training.positive_shift_px": 0, "training.positive_scale_log2": 0.0,
             "training.flip_horizontal": False, "training.flip_vertical": False}


@pytest.mark.parametrize("refine", [False, True])
def test_overfits_a_tiny_set(refine):
    # negatives drawn at the scales the arena's pyramid had (0.53-1.5): on a 120x140 frame the
    # frame-derived pyramid reaches x2.0, a harder score task than 120 steps on one image.
    # No random negatives: on a frame holding one object they often frame it at the right
    # scale (label noise by design, sampling.py), and a few such batches among the last ten
    # steps raised the score loss to 1.1 (a fit of the noise, not a failure to learn)
    cfg = load_config(overrides={**SMALL, **NO_JITTER, "model.refine_head.enabled": refine,
                                 "inference.min_object_px": 32.0, "inference.max_object_fraction": 0.75,
                                 "training.random_negative_fraction": 0.0})
    rng = np.random.default_rng(0)
    examples = blob_examples(rng, 1, height=120, width=140, num_objects=1, size_range=(40, 50))
    trainer = Trainer(cfg, source=InMemorySource(examples), mode="ce")
    first = trainer.train_steps(10, progress=False)
    # 200 steps, not 100: after 110 the loss is still on its way down and where it stands depends
    # on the CPU's float kernels (0.378 of 0.693 on an AMD EPYC, under half on Intel); by 210
    # it is ~0.001 on both
    trainer.train_steps(200, progress=False)
    last = trainer.train_steps(10, progress=False)
    assert last["mask_loss"] < 0.5 * first["mask_loss"]
    assert last["score_loss"] < 0.5 * first["score_loss"]
    pos = examples[0]
    centre, size = mask_box_centre_and_size(pos.mask)
    scale = cfg["model"]["object_fraction"] * cfg["model"]["window"] / size
    win, target = cut_window(pos.image, centre, scale, cfg["model"]["window"],
                             fill_colour(cfg["model"]), pos.mask, trainer.model.output_mask_size)
    x = trainer.model.normalise(torch.from_numpy(win).permute(2, 0, 1)[None])
    with torch.no_grad():
        score, logits = trainer.model.eval()(x)
    assert float(iou(logits > 0, torch.from_numpy(target)[None])[0]) > 0.8
    assert float(score[0]) > 0


@pytest.mark.slow
def test_brief_training_finds_blobs():
    cfg = load_config(overrides={"training.batch_size": 16})
    rng = np.random.default_rng(1)
    source = InMemorySource(blob_examples(rng, 12, negatives_per_image=2, size_range=(40, 80)))
    trainer = Trainer(cfg, source=source, mode="rsl")
    t0 = time.perf_counter()
    metrics = trainer.train_steps(400, progress=False)
    wall = time.perf_counter() - t0
    # the heads alternate: 200 mask and 200 score batches of 16 windows, none skipped
    assert metrics["mask_batches_skipped"] == 0 and metrics["step"] == 400
    assert metrics["examples"] == 400 * 16
    # the rate is those windows over the time the steps took (measured inside this call)
    assert metrics["examples"] / wall <= metrics["examples_per_s"] <= 1.5 * metrics["examples"] / wall
    image, masks = blob_scene(np.random.default_rng(7), num_objects=4, size_range=(40, 80))
    hyps = Segmenter(trainer.model, cfg).segment(image)
    assert hyps and all(h.mask.shape == image.shape[:2] for h in hyps)
    for m in masks:
        best = max(float(iou(torch.from_numpy(h.mask[None]), torch.from_numpy(m[None]))[0])
                   for h in hyps)
        assert best > 0.4
    # hypotheses that hit an object score higher than those on the background
    on_object = [h.score for h in hyps if any((h.mask & m).sum() > 0.5 * h.mask.sum() for m in masks)]
    off_object = [h.score for h in hyps if not any((h.mask & m).any() for m in masks)]
    assert on_object and (not off_object or max(on_object) > max(off_object))


def test_modes_and_rsl_flip_rate():
    cfg = load_config(overrides=SMALL)
    rng = np.random.default_rng(2)
    noisy = InMemorySource(blob_examples(rng, 2, noise=0.4, height=120, width=140,
                                         num_objects=2, size_range=(30, 50)))
    rsl = Trainer(cfg, source=noisy, mode="rsl").train_steps(4, progress=False)
    ce = Trainer(cfg, source=noisy, mode="ce").train_steps(4, progress=False)
    assert rsl["rsl_flip_rate"] > 0 and ce["rsl_flip_rate"] == 0
    with pytest.raises(ValueError, match="mode"):
        Trainer(cfg, source=noisy, mode="bogus")
    with pytest.raises(ValueError, match="no examples"):
        Trainer(cfg, source=InMemorySource([])).train_steps(1, progress=False)


def test_negatives_only_source_trains_the_score_head():
    cfg = load_config(overrides=SMALL)
    image = np.zeros((80, 90, 3), np.uint8)
    source = InMemorySource([Example(image=image, pick_px=(40.0, 40.0), mask=None)])
    m = Trainer(cfg, source=source).train_steps(2, progress=False)
    assert m["mask_batches_skipped"] == 1 and np.isnan(m["mask_loss"])


def test_mixed_source_proportions():
    def src(tag, n):
        img = np.zeros((4, 4, 3), np.uint8)
        return InMemorySource([Example(img, (0.0, 0.0), None, source=tag, meta={"i": i})
                               for i in range(n)])
    mixed = MixedSource([src("interaction", 90), src("ground_truth", 5)], [0.8, 0.2])
    assert isinstance(mixed, ExampleSource)
    tags = [mixed[i].source for i in range(len(mixed))]
    assert abs(tags.count("ground_truth") / len(tags) - 0.2) < 0.02
    assert {mixed[i].meta["i"] for i in range(len(mixed)) if tags[i] == "interaction"} == set(range(90))
    with pytest.raises(IndexError):
        mixed[len(mixed)]
    with pytest.raises(ValueError):
        MixedSource([src("interaction", 1)], [0.5, 0.5])


def test_step_schedule():
    steps = [[0, 1e-3], [10, 5e-4], [20, 1e-4]]
    assert [learning_rate(steps, s) for s in (0, 9, 10, 19, 20, 1000)] == \
        [1e-3, 1e-3, 5e-4, 5e-4, 1e-4, 1e-4]


def test_in_memory_source_validates():
    with pytest.raises(ValueError, match="unknown source"):
        InMemorySource([Example(np.zeros((2, 2, 3), np.uint8), (0, 0), None, source="web")])
