"""`python -m seg_by_interaction progress`: a run's newest model scored on a few held-out
images while it learns, written where a user can look, without touching the run."""
import json
import subprocess
import sys

import pytest

from sbi_research.config import load_config
from seg_by_interaction.evaluation.eval_set import EvalSet
from seg_by_interaction.evaluation.progress import Progress, read_jsonl, watch


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from sbi_research.local_loop import run_session
    from seg_by_interaction.evaluation.sets import ensure_eval_set
    base = load_config()
    cfg = load_config(overrides=base["study"]["budgets"]["tiny"]["overrides"])
    root = tmp_path_factory.mktemp("progress")
    run_session(cfg, root / "run", 3, progress=False)
    eval_json = ensure_eval_set(root / "eval", cfg, "test", seed=0, num_backgrounds=1,
                                images_per_background=3)
    return cfg, root / "run", eval_json


def _tree(folder):
    return {p.relative_to(folder): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_rounds_score_v1_and_the_newest_model_once_and_leave_the_run_alone(tiny_run, tmp_path):
    cfg, run, eval_json = tiny_run
    before = _tree(run)
    out = tmp_path / "progress"
    report = watch(run, out, cfg, {"test": str(eval_json)}, images=2)
    scores, bad = read_jsonl(out / "scores.jsonl")
    versions = sorted(r["version"] for r in scores)
    assert bad == 0 and versions[0] == 1 and len(versions) == 2     # v1 and the newest, 2 images each
    assert all(r["images"] == 2 and 0 <= r["ap"]["0.3"] <= 1 for r in scores)
    text = report.read_text()
    assert f"| v{versions[-1]} |" in text and (out / "progress.png").stat().st_size > 0
    assert "interactions labelled: 3" in text
    watch(run, out, cfg, {"test": str(eval_json)}, images=2)          # nothing new: nothing scored
    assert len(read_jsonl(out / "scores.jsonl")[0]) == 2
    assert _tree(run) == before                                        # a read: the run is untouched


def test_a_damaged_line_or_checkpoint_is_skipped_not_fatal(tiny_run, tmp_path):
    cfg, run, eval_json = tiny_run
    out = tmp_path / "progress"
    out.mkdir()
    (out / "scores.jsonl").write_text('{"version": 1, "set": "test", "images": 2, "interactions": 0,'
                                      ' "ap": {"0.3": 0.5}}\n{"version": 7, "se\n[1, 2]\n')
    assert read_jsonl(out / "scores.jsonl")[1] == 2
    progress = Progress(run, out)
    newest = progress.to_score(["test"])
    assert [v for v, _ in newest] == [max(v for v, _ in newest)]      # v1 counts as scored
    broken = run / "checkpoints" / "model_v09999.pt"
    broken.write_bytes(b"not a checkpoint")
    try:
        said = []
        rows = progress.score_round(cfg, {"test": EvalSet.load(eval_json)}, log=said.append)
        assert rows == [] and "v9999 not scored now" in said[0]
    finally:
        broken.unlink()


def test_the_command_refuses_what_it_cannot_use(tiny_run, tmp_path, capsys):
    from seg_by_interaction.__main__ import main
    from support.cli import exit_code
    cfg, run, eval_json = tiny_run
    for extra, said in (([], "no evaluation set"),
                        (["--eval-set", "test"], "expected NAME=PATH"),
                        (["--eval-set", f"test={tmp_path}/nope.json"], "not found"),
                        (["--eval-set", f"test={eval_json}", "--images", "0"], "at least 1"),
                        (["--eval-set", f"test={eval_json}", "--every", "-5"], "seconds > 0"),
                        (["--eval-set", f"test={eval_json}", "--rounds", "-1"], "0 (until Ctrl-C)")):
        rc = exit_code(main, ["progress", "--data-dir", str(run), "--out", str(tmp_path / "p")] + extra)
        err = capsys.readouterr().err
        assert rc == 2 and said in err, (extra, err)
    assert not (tmp_path / "p").exists()
    (run / "eval_sets.json").write_text(json.dumps({"test": str(eval_json)}))
    try:     # the real command line once: the run's own eval_sets.json, then a damaged one
        done = subprocess.run([sys.executable, "-m", "seg_by_interaction", "progress", "--data-dir", str(run),
                               "--out", str(tmp_path / "p"), "--images", "1"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "p" / "progress.md").is_file()
        (run / "eval_sets.json").write_text("{not json")
        rc = exit_code(main, ["progress", "--data-dir", str(run)])
        assert rc == 2 and "not valid JSON" in capsys.readouterr().err
    finally:
        (run / "eval_sets.json").unlink()
