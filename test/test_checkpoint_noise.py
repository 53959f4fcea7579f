"""`python -m sbi_research checkpoint-noise`: the AP spread between neighbouring checkpoints
of a finished run, the yardstick a drop between a report's checkpoints is read against."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from sbi_research.checkpoint_noise import adjacent_noise, checkpoint_noise, parse_window
from sbi_research.config import load_config
from seg_by_interaction.training.online import checkpoint_path
from seg_by_interaction.training.trainer import Trainer


def test_the_spread_of_neighbour_differences():
    got = adjacent_noise([50.0, 52.0, 50.0, 52.0])
    sd = float(np.std([2.0, -2.0, 2.0], ddof=1))
    assert got["diff_sd"] == pytest.approx(sd) and got["checkpoint_sd"] == pytest.approx(sd / math.sqrt(2))
    assert got["max_abs_diff"] == 2.0 and got["mean"] == 51.0 and got["checkpoints"] == 4
    assert adjacent_noise([40.0, 45.0, 50.0])["diff_sd"] == 0.0     # a steady trend is not noise
    for bad in ([1.0, 2.0], [1.0, float("nan"), 2.0]):
        with pytest.raises(ValueError):
            adjacent_noise(bad)


def test_windows_are_checked():
    assert parse_window("400-600") == (400, 600) and parse_window("7-7") == (7, 7)
    for bad in ("600-400", "400", "a-b", "-5-3", ""):
        with pytest.raises(ValueError, match="LO-HI"):
            parse_window(bad)


@pytest.fixture(scope="module")
def run_and_set(tmp_path_factory):
    """Five checkpoints of one network, each a little apart (interactions 0..40), and a
    three-image test set."""
    from seg_by_interaction.evaluation.sets import ensure_eval_set
    base = load_config()
    cfg = load_config(overrides=base["study"]["budgets"]["tiny"]["overrides"])
    root = tmp_path_factory.mktemp("noise")
    trainer = Trainer(cfg)
    torch.manual_seed(0)
    for version in range(1, 6):
        with torch.no_grad():
            for p in trainer.model.parameters():
                p.add_(0.02 * torch.randn_like(p))
        trainer.save(checkpoint_path(root / "run" / "checkpoints", version),
                     extra={"version": version, "examples_seen": 10 * version,
                            "interactions_seen": 10 * (version - 1)})
    eval_json = ensure_eval_set(root / "eval", cfg, "test", seed=0, num_backgrounds=1,
                                images_per_background=3)
    return cfg, root / "run", str(eval_json)


def test_scores_every_checkpoint_in_the_window_and_leaves_the_run_alone(run_and_set, tmp_path):
    cfg, run, eval_json = run_and_set
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    md = checkpoint_noise(cfg, run, {"test": eval_json}, [(10, 40)], tmp_path / "out", jobs=1,
                          progress=False)
    results = json.loads((tmp_path / "out" / "noise.json").read_text())
    rows = sorted(results["checkpoints"], key=lambda r: r["version"])
    assert [r["version"] for r in rows] == [2, 3, 4, 5]          # v1 saw 0 interactions: outside
    assert [r["interactions"] for r in rows] == [10, 20, 30, 40]
    assert all(0.0 <= r["ap"]["0.3"] <= 100.0 for r in rows)
    stats = {s["iou"]: s for s in results["noise"]}
    assert stats["0.3"] == {"set": "test", "window": [10, 40], "iou": "0.3",
                            **adjacent_noise([r["ap"]["0.3"] for r in rows])}
    assert "| test | 10-40 | 0.3 | 4 |" in md.read_text()
    assert (tmp_path / "out" / "noise.png").stat().st_size > 0
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == before


def test_too_few_checkpoints_or_a_missing_set_is_refused_before_scoring(run_and_set, tmp_path, capsys):
    cfg, run, eval_json = run_and_set
    with pytest.raises(ValueError, match="fewer than 3 checkpoints: 0-10"):
        checkpoint_noise(cfg, run, {"test": eval_json}, [(0, 10)], tmp_path / "a", progress=False)
    assert not (tmp_path / "a").exists()
    from sbi_research.__main__ import main
    from support.cli import exit_code
    args = ["checkpoint-noise", "--run", str(run), "--out", str(tmp_path / "b")]
    done = subprocess.run([sys.executable, "-m", "sbi_research"] + args + ["--eval-set", "test", "--window", "0-40"],
                          capture_output=True, text=True, timeout=120)      # the real command line once
    assert done.returncode == 2 and "NAME=PATH of an annotations.json" in done.stderr, done.stderr
    for extra, said in ((["--eval-set", f"test={tmp_path}/nope.json", "--window", "0-40"], "no such file"),
                        (["--eval-set", f"test={eval_json}", "--window", "40-0"], "LO-HI")):
        rc = exit_code(main, args + extra)
        err = capsys.readouterr().err
        assert rc == 2 and said in err, (extra, err)
    assert not (tmp_path / "b").exists()
