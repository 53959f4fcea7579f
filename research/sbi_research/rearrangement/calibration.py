"""Where a descriptor's rejection threshold belongs: costs of true and false pairs.

With ground-truth segments the identity of every segment is known, so over a few
episodes (their own seed, not the evaluation's) this collects the cost of each correct
pair (the same object in the current and the target view; displaced objects
separately) and, per current segment, its cheapest wrong pair, plus how often the
unthresholded Hungarian assignment is right. A threshold just above the correct pairs'
costs rejects only what matches nothing.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from seg_by_interaction.config import with_overrides
from seg_by_interaction.rearrangement.descriptors import Descriptor
from seg_by_interaction.rearrangement.matching import cost_matrix
from sbi_research.rearrangement.scenes import prepare_episode
from sbi_research.rearrangement.steps import ground_truth_hypotheses
from seg_by_interaction.sim.arena import Arena


def pair_costs(cfg: dict, descriptors: dict[str, Descriptor], episodes: int, seed: int) -> dict:
    """Per descriptor: {"correct", "displaced", "wrong_min": [costs], "hungarian_accuracy"}."""
    min_pixels = int(cfg.rearrangement.min_segment_pixels)
    out = {k: {"correct": [], "displaced": [], "wrong_min": [], "right": 0, "total": 0}
           for k in descriptors}
    with Arena(with_overrides(cfg, cfg.evaluation.standard_arena), seed=seed,
               split=cfg.rearrangement.evaluation.split) as arena:
        for i in range(int(episodes)):
            ep = prepare_episode(arena, cfg, i, seed)
            cam = ep.camera
            now = arena.render(include_ground_truth=True)
            views = []
            for frames in (now, ep.target):
                gt = frames.gt_instances[cam]
                hyps = ground_truth_hypotheses(gt, min_pixels)
                views.append((frames.images[cam], hyps, [int(gt[h.mask][0]) for h in hyps]))
            (img_c, hyp_c, id_c), (img_t, hyp_t, id_t) = views
            for name, describe in descriptors.items():
                cost = cost_matrix(describe(img_c, [h.mask for h in hyp_c]),
                                   describe(img_t, [h.mask for h in hyp_t]))
                rec = out[name]
                for r, c in zip(*linear_sum_assignment(cost)):
                    if id_c[r] in id_t:
                        rec["total"] += 1
                        rec["right"] += int(id_c[r] == id_t[c])
                for a, obj in enumerate(id_c):
                    wrong = [cost[a, b] for b, other in enumerate(id_t) if other != obj]
                    if wrong:
                        rec["wrong_min"].append(float(min(wrong)))
                    for b, other in enumerate(id_t):
                        if other == obj:
                            rec["correct"].append(float(cost[a, b]))
                            if obj in ep.displaced:
                                rec["displaced"].append(float(cost[a, b]))
    return {k: {"correct": v["correct"], "displaced": v["displaced"], "wrong_min": v["wrong_min"],
                "hungarian_accuracy": v["right"] / max(v["total"], 1)} for k, v in out.items()}


def separation(costs: dict) -> dict:
    """Quantiles that place a threshold, and the AUC of correct vs cheapest wrong pairs."""
    c, d, w = (np.asarray(costs[k]) for k in ("correct", "displaced", "wrong_min"))
    return {"correct_max": float(c.max()), "displaced_max": float(d.max()),
            "correct_q95": float(np.quantile(c, 0.95)), "wrong_min_q05": float(np.quantile(w, 0.05)),
            "auc": float((c[:, None] < w[None, :]).mean()),
            "hungarian_accuracy": float(costs["hungarian_accuracy"])}
