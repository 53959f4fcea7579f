"""The report renders end to end from a tiny results dict; missing parts say "not run"."""
import cv2
import numpy as np

from seg_by_interaction.config import load_config
from seg_by_interaction.__main__ import main as cli
from seg_by_interaction.evaluation.report import (TABLE_ROWS, load_results,
                                                  qualitative_example, save_results,
                                                  write_report)


def ap(a, b, c, d):
    return {"voc07": {"0.3": a, "0.5": b}, "coco": {"0.3": c, "0.5": d}}


def tiny_results(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "img.png"), image)
    gt = np.zeros((1, 30, 40), bool)
    gt[0, 5:15, 5:20] = True
    ours = (np.concatenate([gt, ~gt]), np.array([0.9, 0.2]))
    cfg = load_config()
    return {
        "meta": {"command": "python -m sbi_research study --budget tiny",
                 "date": "2026-11-25", "preset": "default", "config": cfg.model_dump(),
                 "wall_clock_s": {"collect": 12.5, "train": 30.0}},
        "table": {
            "bottom_up_tuned": {"runs": [{"seed": None, "ap": ap(0.2, 0.1, 0.19, 0.09)}]},
            "self_sup_rsl": {"runs": [{"seed": s, "ap": ap(0.40 + 0.02 * s, 0.2, 0.38, 0.18)}
                                      for s in range(3)]},
        },
        "ap_vs_interactions": {"self_sup_rsl": [
            {"interactions": n, "seed": s, "ap": ap(0.1 + n / 1000, 0.05, 0.1, 0.05)}
            for n in (100, 200, 400) for s in range(2)]},
        "pr_curves": {"self_sup_rsl": {p: {t: {"precision": [1.0, 0.5], "recall": [0.2, 0.6]}
                                           for t in ("0.3", "0.5")} for p in ("voc07", "coco")}},
        "recall_at_precision": {"iou_threshold": 0.3, "precision_levels": [0.5, 0.7],
                                "points": [{"interactions": n, "seed": 0, "recall": [0.3, 0.1]}
                                           for n in (100, 200)]},
        "generalisation": {"row": "self_sup_rsl", "cells": {
            "train_objects/train_backgrounds": {"runs": [{"seed": 0, "ap": ap(0.5, 0.3, 0.5, 0.3)}]},
            "test_objects/test_backgrounds": {"runs": [{"seed": 0, "ap": ap(0.4, 0.2, 0.4, 0.2)}]}}},
        "qualitative": {"columns": ["bottom-up tuned", "ours (RSL)"], "examples": [
            qualitative_example("img.png", gt, {"ours (RSL)": ours}, top_k=5)]},
    }


def test_report_renders_end_to_end(tmp_path):
    results = tiny_results(tmp_path)
    report = write_report(results, tmp_path, load_config()["evaluation"]["report"])
    text = report.read_text()
    for name in ("ap_vs_interactions", "pr_curves", "recall_at_precision", "generalisation",
                 "qualitative"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000, name
        assert f"({name}.png)" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    from seg_by_interaction.evaluation.report import ABLATION_ROWS
    for key, (label, _) in TABLE_ROWS.items():   # every Table-1 row, "not run" if absent;
        shown = any(line.startswith(f"| {label} |") for line in table)   # ablations only if run
        assert shown == (key not in ABLATION_ROWS or key in results["table"]), label
    rsl = next(line for line in table if line.startswith(f"| {TABLE_ROWS['self_sup_rsl'][0]} |"))
    assert "42.0 ± 2.0" in rsl and "0, 1, 2" in rsl
    gt_row = next(line for line in table if line.startswith(f"| {TABLE_ROWS['gt_supervised'][0]} |"))
    assert gt_row.count("not run") == 5  # seeds + four AP cells
    assert "| test | not run |" in text  # generalisation cell without runs
    assert "| **total** | 42.5 |" in text and "2026-11-25" in text


def test_missing_parts_say_not_run_and_json_round_trip(tmp_path):
    results = {"table": {"bottom_up": {"runs": [{"seed": np.int64(0),
                                                 "ap": ap(np.float32(0.25), 0.125, 0.25, 0.125)}]}}}
    path = save_results(results, tmp_path / "results.json")
    loaded = load_results(path)
    assert loaded["table"]["bottom_up"]["runs"][0]["ap"]["voc07"]["0.3"] == 0.25
    assert cli(["render-report", str(path), str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "report.md").read_text()
    # per-size table, overlap/boundary table, curves, PR, recall, generalisation, qualitative,
    # wall clock
    assert text.count("_not run_") == 8
    assert not list((tmp_path / "out").glob("*.png"))


def test_wall_clock_total_is_not_counted_twice(tmp_path):
    from seg_by_interaction.evaluation.report import write_report
    results = {"meta": {"title": "t", "wall_clock_s": {"a": 1.0, "b": 2.0, "total": 3.5}},
               "table": {}}
    text = write_report(results, tmp_path, load_config().evaluation.report).read_text()
    assert "| **total** | 3.5 |" in text and "| total |" not in text
    results["meta"]["wall_clock_s"] = {"a": 1.0, "b": 2.0}
    assert "| **total** | 3.0 |" in write_report(results, tmp_path, load_config().evaluation.report).read_text()
