"""The report's PNG figures (matplotlib, Agg backend: no display needed).

Each function takes one part of the results dict (schema: ``evaluation.report``) and a
path, draws what is there and returns the path; none of them invents missing data.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import cv2  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from seg_by_interaction.evaluation.metrics import PROTOCOLS, decode_masks  # noqa: E402

PROTOCOL_LABELS = {"voc07": "authors' (VOC07, IoU > t)", "coco": "COCO (pycocotools, IoU >= t)"}


def _mean_std(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _grid(thresholds, title):
    fig, axes = plt.subplots(len(PROTOCOLS), len(thresholds),
                             figsize=(4.2 * len(thresholds), 3.4 * len(PROTOCOLS)), squeeze=False)
    fig.suptitle(title)
    return fig, axes


def _save(fig, path: Path, dpi: int) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def ap_vs_interactions(series: dict, reference: dict, labels: dict, thresholds: list[str],
                       path: Path, dpi: int) -> Path:
    """AP against the number of interactions (paper Fig. 3a), mean ± std over seeds
    (each seed's own curve in grey behind).

    ``series``: row key -> list of {"interactions", "seed", "ap"}; ``reference``:
    row key -> list of AP dicts drawn as horizontal lines (baselines).
    """
    fig, axes = _grid(thresholds, "AP vs number of interactions")
    for pi, protocol in enumerate(PROTOCOLS):
        for ti, thr in enumerate(thresholds):
            ax = axes[pi][ti]
            for key, points in series.items():
                # seeds checkpoint at slightly different interaction counts: the i-th
                # checkpoint of every seed forms one point (x = their mean count)
                per_seed: dict = {}
                for p in points:
                    value = p["ap"].get(protocol, {}).get(thr)
                    if value is not None:
                        per_seed.setdefault(p.get("seed"), []).append((int(p["interactions"]), 100 * value))
                if not per_seed:
                    continue
                by_rank: dict[int, list[tuple[int, float]]] = {}
                for seed_points in per_seed.values():
                    seed_points.sort()
                    if len(per_seed) > 1:
                        ax.plot(*zip(*seed_points), color="gray", alpha=0.35, linewidth=0.8)
                    for i, xy in enumerate(seed_points):
                        by_rank.setdefault(i, []).append(xy)
                xs = [float(np.mean([x for x, _ in by_rank[i]])) for i in sorted(by_rank)]
                stats = np.array([_mean_std([y for _, y in by_rank[i]]) for i in sorted(by_rank)])
                ax.plot(xs, stats[:, 0], marker="o", label=labels.get(key, key))
                ax.fill_between(xs, stats[:, 0] - stats[:, 1], stats[:, 0] + stats[:, 1], alpha=0.2)
            for key, aps in reference.items():
                values = [100 * a[protocol][thr] for a in aps if thr in a.get(protocol, {})]
                if values:
                    ax.axhline(np.mean(values), linestyle="--", color="gray" if "bottom" in key else "black",
                               label=labels.get(key, key))
            ax.set_title(f"{PROTOCOL_LABELS[protocol]}, t={thr}", fontsize=9)
            ax.set_xlabel("interactions")
            ax.set_ylabel("AP (%)")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return _save(fig, path, dpi)


def pr_curves(curves: dict, labels: dict, thresholds: list[str], path: Path, dpi: int) -> Path:
    """Precision-recall curves per method (paper Fig. 3c), one panel per protocol and threshold."""
    fig, axes = _grid(thresholds, "Precision-recall")
    for pi, protocol in enumerate(PROTOCOLS):
        for ti, thr in enumerate(thresholds):
            ax = axes[pi][ti]
            for key, per_protocol in curves.items():
                curve = per_protocol.get(protocol, {}).get(thr)
                if curve and len(curve["recall"]):
                    ax.plot(curve["recall"], curve["precision"], label=labels.get(key, key))
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            ax.set_title(f"{PROTOCOL_LABELS[protocol]}, t={thr}", fontsize=9)
            ax.set_xlabel("recall")
            ax.set_ylabel("precision")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return _save(fig, path, dpi)


def recall_at_precision(part: dict, path: Path, dpi: int) -> Path:
    """Recall of GT objects by the hypotheses at fixed precision vs checkpoint (Fig. 3b)."""
    levels = part["precision_levels"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for li, level in enumerate(levels):
        by_n: dict[int, list[float]] = {}
        for p in part["points"]:
            by_n.setdefault(int(p["interactions"]), []).append(100 * p["recall"][li])
        xs = sorted(by_n)
        stats = np.array([_mean_std(by_n[x]) for x in xs])
        ax.errorbar(xs, stats[:, 0], yerr=stats[:, 1], marker="o", capsize=3,
                    label=f"precision {level:g}")
    ax.set_title(f"Recall at fixed precision (IoU > {part['iou_threshold']:g})", fontsize=10)
    ax.set_xlabel("interactions")
    ax.set_ylabel("recall (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path, dpi)


def generalisation(drops: dict, thresholds: list[str], path: Path, dpi: int) -> Path:
    """AP drop from train objects/backgrounds to novel ones (paper Fig. 6), authors' protocol.

    ``drops``: threshold key -> {scenario label: (mean drop, std)} in AP points.
    """
    scenarios = list(next(iter(drops.values())).keys()) if drops else []
    fig, ax = plt.subplots(figsize=(6, 3.8))
    width = 0.8 / max(len(thresholds), 1)
    for ti, thr in enumerate(thresholds):
        values = [drops.get(thr, {}).get(s, (np.nan, 0.0)) for s in scenarios]
        xs = np.arange(len(scenarios)) + ti * width
        ax.bar(xs, [v[0] for v in values], width, yerr=[v[1] for v in values], capsize=3,
               label=f"IoU {thr}")
    ax.set_xticks(np.arange(len(scenarios)) + width * (len(thresholds) - 1) / 2)
    ax.set_xticklabels(scenarios, fontsize=8)
    ax.set_ylabel("drop in AP (points, lower is better)")
    ax.set_title("Generalisation (authors' protocol)", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _save(fig, path, dpi)


def _overlay(image: np.ndarray, masks: np.ndarray) -> np.ndarray:
    out = image.astype(float).copy()
    colours = plt.get_cmap("tab10").colors
    for k, mask in enumerate(masks):
        colour = np.array(colours[k % len(colours)]) * 255
        out[mask] = 0.45 * out[mask] + 0.55 * colour
    return out.clip(0, 255).astype(np.uint8)


def _load_image(path: Path, height: int, width: int) -> np.ndarray | None:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None or bgr.shape[:2] != (height, width):
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def qualitative_grid(part: dict, base_dir: Path, top_k: int, min_score: float,
                     path: Path, dpi: int) -> Path:
    """Rows of (image, ground truth, each method's top hypotheses), like paper Fig. 5."""
    columns = list(part["columns"])
    examples = part["examples"]
    fig, axes = plt.subplots(len(examples), 2 + len(columns),
                             figsize=(2.6 * (2 + len(columns)), 2.2 * len(examples)), squeeze=False)
    for r, ex in enumerate(examples):
        height, width = ex["height"], ex["width"]
        image_path = Path(ex["image"])
        if not image_path.is_absolute():
            image_path = base_dir / image_path
        image = _load_image(image_path, height, width)
        if image is None:
            image = np.full((height, width, 3), 255, dtype=np.uint8)
            axes[r][0].text(0.5, 0.5, "image missing", ha="center", transform=axes[r][0].transAxes)
        panels = [("image", image),
                  ("ground truth", _overlay(image, decode_masks(ex["ground_truth"], height, width)))]
        for name in columns:
            method = ex["methods"].get(name)
            if method is None:
                panels.append((f"{name}: not run", np.full_like(image, 255)))
                continue
            scores = np.asarray(method["scores"], dtype=float)
            order = [i for i in np.argsort(-scores, kind="stable") if scores[i] >= min_score][:top_k]
            masks = decode_masks([method["masks"][i] for i in order], height, width)
            panels.append((name, _overlay(image, masks)))
        for c, (title, panel) in enumerate(panels):
            axes[r][c].imshow(panel)
            axes[r][c].set_axis_off()
            if r == 0:
                axes[r][c].set_title(title, fontsize=9)
    return _save(fig, path, dpi)
