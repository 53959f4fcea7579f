"""The main job's report states its loop's interactions per minute from the counters."""
from seg_by_interaction.evaluation.run_report import loop_rate


def test_loop_rate_from_the_robot_counters(tmp_path):
    (tmp_path / "robot0.next_interaction").write_text("500")
    (tmp_path / "robot1.next_interaction").write_text("100")
    assert loop_rate(tmp_path, 1200.0) == (600, 1200.0, 30.0)
    assert loop_rate(tmp_path, None) is None and loop_rate(tmp_path, 0) is None
    (tmp_path / "robot1.next_interaction").write_text("garbage")
    assert loop_rate(tmp_path, 1200.0) is None
    assert loop_rate(tmp_path / "empty", 60.0) is None


def test_a_missing_evaluation_set_is_refused_before_any_report_folder_is_made(tmp_path):
    import pytest
    from seg_by_interaction.config import load_config
    from seg_by_interaction.evaluation.run_report import run_report
    out = tmp_path / "report"
    with pytest.raises(ValueError, match="evaluation set not found"):
        run_report(tmp_path, tmp_path / "nope" / "annotations.json", load_config(), out,
                    progress=False)
    assert not out.exists()


def test_stage_seconds_name_a_step_and_its_seconds():
    """scripts/run_loop.sh hands the report the steps timed before the loop; a wrong one is
    refused by the argument parser, naming what was expected."""
    import argparse

    import pytest
    from seg_by_interaction.__main__ import stage_seconds
    assert stage_seconds("pre-training v1=180") == ("pre-training v1", 180.0)
    assert stage_seconds("sets = bootstrap=12.5") == ("sets = bootstrap", 12.5)   # the last '=' splits
    for bad in ("180", "=180", "x=", "x=fast", "x=-1", "x=nan", "x=inf"):
        with pytest.raises(argparse.ArgumentTypeError, match="NAME=SECONDS"):
            stage_seconds(bad)


def test_the_report_says_what_precision_auto_resolved_to():
    """The same preset computes in bfloat16 on one CPU and float32 on another: the report
    names what this machine used, for segmentation and for training."""
    from seg_by_interaction.config import load_config
    from seg_by_interaction.evaluation.run_report import arithmetic_note
    from seg_by_interaction.runtime import native_bfloat16
    auto = "bfloat16" if native_bfloat16() else "float32"
    note = arithmetic_note(load_config(overrides={"inference.precision": "auto",
                                                  "training.precision": "float32"}))
    assert note.startswith(f"Network arithmetic on this machine: {auto} in segmentation")
    assert "float32 in training (training.precision: float32)" in note
    note = arithmetic_note(load_config(overrides={"inference.precision": "float32",
                                                  "training.precision": "bfloat16"}))
    assert "float32 in segmentation" in note and "bfloat16 in training" in note
