"""The study end to end at the tiny budget: every Table-1 row, the curves, the 2x2, the
report; and the main job's loop report from a run folder."""
from __future__ import annotations

import json

import pytest

from sbi_research.config import load_config

pytestmark = pytest.mark.slow


def test_tiny_study_writes_a_complete_report(tmp_path):
    from sbi_research.study import run_study
    cfg = load_config()
    report = run_study(cfg, tmp_path, budget="tiny", progress=False, command="pytest")
    text = report.read_text()
    results = json.loads((tmp_path / "results.json").read_text())
    for row in ("bottom_up", "bottom_up_tuned", "gt_supervised", "self_sup_ce",
                "self_sup_rsl", "self_sup_human"):
        runs = results["table"][row]["runs"]
        assert len(runs) == 1 and runs[0]["seed"] == (None if row.startswith("bottom_up") else 0), row
    _check_table_is_what_the_rows_score(cfg, tmp_path, results)
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


def _check_table_is_what_the_rows_score(cfg, out, results):
    """Each Table-1 entry is the AP that row's own method scores on the study's test set:
    every model (the last checkpoint within the budget of its run folder) and both bottom-up
    baselines are evaluated again here, and the numbers must be the table's, per protocol
    and threshold, and the PR curves the figure draws must be that row's too (at the tiny
    budget several learned rows score AP 0; their ranked predictions still tell them apart).
    A row holding another row's numbers, an earlier checkpoint's, or a protocol or threshold
    filed under the wrong key fails; so does any AP outside [0, 1]."""
    from seg_by_interaction.config import with_overrides
    from seg_by_interaction.evaluation.eval_set import EvalSet
    from seg_by_interaction.evaluation.report import curve_entry, run_entry
    from seg_by_interaction.evaluation.checkpoints import evaluate_bottom_up, evaluate_checkpoint
    from sbi_research.study import within_budget
    from seg_by_interaction.training.online import list_checkpoints
    budget = cfg["study"]["budgets"]["tiny"]
    tiny = with_overrides(cfg, {**budget["overrides"], "seed": 0})
    test_json = results["meta"]["eval_set"].rsplit(" (", 1)[0]       # "<path> (N images)"
    assert f"seed{cfg['study']['eval_seed']}_" in test_json, test_json    # not a 2x2 cell's set
    test_set = EvalSet.load(test_json)
    thresholds = [float(t) for t in cfg["evaluation"]["iou_thresholds"]]
    evaluations = {}
    for row in ("bottom_up", "bottom_up_tuned"):
        evaluations[row] = evaluate_bottom_up(tiny, test_set, row == "bottom_up_tuned", False)
    for row in ("self_sup_rsl", "self_sup_ce", "self_sup_human", "gt_supervised"):
        found = list_checkpoints(out / "runs" / f"{row}_seed0" / "checkpoints")
        if row != "gt_supervised":
            found = within_budget(found, int(budget["interactions"]))
        assert found, row
        evaluations[row] = evaluate_checkpoint(str(found[-1][1]), tiny, test_set, row, False)
    for row, ev in evaluations.items():
        assert results["pr_curves"][row] == curve_entry(ev, thresholds), row
        want = run_entry(ev, None)
        got = results["table"][row]["runs"][0]["ap"]
        assert set(got) == {"voc07", "coco"} and all(set(v) == {"0.3", "0.5"} for v in got.values())
        for protocol in ("voc07", "coco"):
            for thr in ("0.3", "0.5"):
                assert 0.0 <= got[protocol][thr] <= 1.0
                assert got[protocol][thr] == pytest.approx(want["ap"][protocol][thr], abs=1e-12), \
                    (row, protocol, thr)


def test_unknown_budget_is_refused(tmp_path):
    from sbi_research.study import run_study
    with pytest.raises(ValueError, match="unknown budget"):
        run_study(load_config(), tmp_path, budget="huge")


def test_an_interrupted_run_is_brought_to_its_budget_and_judged_at_it(tmp_path):
    from sbi_research.local_loop import run_session
    from sbi_research.study import _continue_run, _interactions_done, within_budget
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
    from seg_by_interaction.evaluation.sets import ensure_eval_set
    from sbi_research.local_loop import run_session
    from seg_by_interaction.evaluation.run_report import run_report
    base = load_config()
    cfg = load_config(overrides=base["study"]["budgets"]["tiny"]["overrides"])
    run_session(cfg, tmp_path / "run", 3, progress=False)
    eval_json = ensure_eval_set(tmp_path / "eval", cfg, "test", seed=0, num_backgrounds=1,
                                images_per_background=2)
    report = run_report(tmp_path / "run", eval_json, cfg, tmp_path / "report", progress=False,
                         command="pytest", wall_clock={"pre-training v1": 100.0,
                                                       "interaction loop": 200.0})
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    for row in ("bottom_up", "bottom_up_tuned", "self_sup_rsl", "self_sup_rsl_no_refine"):
        assert results["table"][row]["runs"], row
    curve = results["ap_vs_interactions"]["self_sup_rsl"]
    assert curve[0]["interactions"] == 0
    assert curve[0]["version"] == 1       # model v1 starts the curve (no random-weights row)
    assert [p["version"] for p in curve] == sorted(p["version"] for p in curve)
    clock = results["meta"]["wall_clock_s"]
    assert list(clock)[:2] == ["pre-training v1", "interaction loop"] and clock["evaluation"] > 0
    total = sum(clock.values())
    assert f"| **total** | {total:.1f} |" in report.read_text()   # every step, not the loop alone
    assert "masks not snapped to superpixels" in report.read_text()
