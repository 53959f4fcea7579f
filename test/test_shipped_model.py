"""The model the package ships: it loads without a training run, and segment-folder on the
main job's test images scores what its card says (within 3 AP points: the label images keep
one hypothesis per pixel, so overlapped masks lose pixels)."""
from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest

from seg_by_interaction.config import load_config


def _card_ap():
    from seg_by_interaction.perception.shipped import CARD_FILE, models_dir
    card = (models_dir() / CARD_FILE).read_text()
    m = re.search(r"\| test split \| ([0-9.]+) \| ([0-9.]+) \|", card)
    assert m, "the model card states no test-split AP"
    return float(m.group(1)), float(m.group(2))


def test_the_shipped_model_is_a_verified_weights_only_checkpoint():
    from seg_by_interaction.perception.checkpoint import read_checkpoint
    from seg_by_interaction.perception.inference import load_segmenter
    from seg_by_interaction.perception.shipped import shipped_model
    payload = read_checkpoint(shipped_model())
    assert payload["optimizer"] is None and payload["model_cfg"] == load_config().model.model_dump()
    seg = load_segmenter(str(shipped_model()), load_config(overrides={"inference.max_levels": 2}))
    assert next(seg.model.parameters()).dtype.is_floating_point


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_segment_folder_on_the_test_split_scores_what_the_card_says(tmp_path):
    from seg_by_interaction.__main__ import main as cli
    from seg_by_interaction.evaluation.eval_set import EvalSet
    from seg_by_interaction.evaluation.metrics import decode_masks, mask_ap
    from seg_by_interaction.evaluation.sets import ensure_eval_set
    cfg = load_config()
    path = ensure_eval_set(tmp_path / "sets", cfg, "test", seed=0, images_per_background=5)  # run_loop.sh's
    eval_set = EvalSet.load(path)
    out = tmp_path / "labels"
    assert cli(["segment-folder", str(path.parent / "images"), str(out), "--min-score", "0",
                "--max-hypotheses", str(cfg.inference.max_hypotheses)]) == 0
    scores = {x["file"]: {lab["label"]: lab["score"] for lab in x["labels"]}
              for x in map(json.loads, (out / "hypotheses.jsonl").read_text().splitlines())}
    preds, gts = [], []
    for image in eval_set.images:
        labels = cv2.imread(str(out / f"{image.path.stem}.png"), cv2.IMREAD_UNCHANGED)
        ids = [int(k) for k in np.unique(labels) if k]
        preds.append((np.stack([labels == k for k in ids]) if ids else np.zeros((0, *labels.shape), bool),
                      np.array([scores[image.path.name][k] for k in ids])))
        gts.append(decode_masks(image.gt_rles, image.height, image.width))
    ap = 100 * mask_ap(preds, gts, 0.3, "voc07")
    card = _card_ap()[0]
    assert abs(ap - card) <= 3.0, f"segment-folder AP@0.3 {ap:.1f} vs the card's {card:.1f}"
