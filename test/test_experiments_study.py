"""The study end to end at the tiny budget: every Table-1 row, the curves, the 2x2, the
report; and the main job's loop report from a run folder."""
from __future__ import annotations

import json

import pytest

from seg_by_interaction.config import load_config

pytestmark = pytest.mark.slow


def test_tiny_study_writes_a_complete_report(tmp_path):
    from seg_by_interaction.experiments.study import run_study
    cfg = load_config()
    report = run_study(cfg, tmp_path, budget="tiny", progress=False, command="pytest")
    text = report.read_text()
    results = json.loads((tmp_path / "results.json").read_text())
    for row in ("bottom_up", "bottom_up_tuned", "gt_supervised", "self_sup_ce",
                "self_sup_rsl", "self_sup_human"):
        runs = results["table"][row]["runs"]
        assert runs, row
        for run in runs:
            for protocol in ("voc07", "coco"):
                for thr in ("0.3", "0.5"):
                    assert 0.0 <= run["ap"][protocol][thr] <= 1.0
    assert len(results["generalisation"]["cells"]) == 4
    assert results["ap_vs_interactions"]["self_sup_rsl"]
    assert results["recall_at_precision"]["points"]
    assert "not run" not in text.split("## ")[1]            # the table section is complete
    assert list(tmp_path.glob("*.png"))
    # rerunning reuses what exists and gives the same numbers
    again = run_study(cfg, tmp_path, budget="tiny", progress=False)
    assert json.loads((tmp_path / "results.json").read_text())["table"] == results["table"]
    assert again == report
    # learned runs in 2 worker processes give the same numbers as one after the other
    parallel = tmp_path / "parallel"
    run_study(cfg, parallel, budget="tiny", progress=False, jobs=2)
    assert json.loads((parallel / "results.json").read_text())["table"] == results["table"]


def test_unknown_budget_is_refused(tmp_path):
    from seg_by_interaction.experiments.study import run_study
    with pytest.raises(ValueError, match="unknown budget"):
        run_study(load_config(), tmp_path, budget="huge")


def test_an_interrupted_run_is_brought_to_its_budget_and_judged_at_it(tmp_path):
    from seg_by_interaction.experiments.local_loop import run_session
    from seg_by_interaction.experiments.study import _continue_run, _interactions_done, within_budget
    from seg_by_interaction.training.online import list_checkpoints
    base = load_config()
    cfg = load_config(overrides=base["study"]["budgets"]["tiny"]["overrides"])
    run_session(cfg, tmp_path, 2, progress=False)           # interrupted after 2
    _continue_run(cfg, tmp_path, 3, seed=0, mode="rsl", progress=False, human_fraction=0.0)
    assert _interactions_done(tmp_path) == 3                # 1 more, not 3 more
    _continue_run(cfg, tmp_path, 3, seed=0, mode="rsl", progress=False, human_fraction=0.0)
    assert _interactions_done(tmp_path) == 3
    found = list_checkpoints(tmp_path / "checkpoints")
    assert within_budget(found, 10) == found
    assert within_budget(found, 0) == found[:1]             # only the pre-trained model


def test_loop_report_from_a_run_folder(tmp_path):
    """The main job's report (scripts/run_loop.sh step 4) from a tiny run's checkpoints."""
    from seg_by_interaction.experiments.evaluate import ensure_eval_set
    from seg_by_interaction.experiments.local_loop import run_session
    from seg_by_interaction.experiments.loop_report import loop_report
    base = load_config()
    cfg = load_config(overrides=base["study"]["budgets"]["tiny"]["overrides"])
    run_session(cfg, tmp_path / "run", 3, progress=False)
    eval_json = ensure_eval_set(tmp_path / "eval", cfg, "test", seed=0, num_backgrounds=1,
                                images_per_background=2)
    report = loop_report(tmp_path / "run", eval_json, cfg, tmp_path / "report", progress=False,
                         command="pytest")
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    for row in ("bottom_up", "bottom_up_tuned", "self_sup_rsl", "self_sup_rsl_no_refine"):
        assert results["table"][row]["runs"], row
    assert results["ap_vs_interactions"]["self_sup_rsl"][0]["interactions"] == 0
    assert "masks not snapped to superpixels" in report.read_text()
