"""The ablation runner on a tiny budget: variants share the bootstrap, the passive-only
row trains as many steps as its reference, every row is judged on the val split."""
import json

from seg_by_interaction.config import load_config


def test_tiny_ablation_runs_shares_the_bootstrap_and_resumes(tmp_path):
    from seg_by_interaction.experiments.ablation import run_ablation
    from seg_by_interaction.perception.checkpoint import read_checkpoint
    from seg_by_interaction.training.online import list_checkpoints
    base = load_config()
    cfg = load_config(overrides={**base["study"]["budgets"]["tiny"]["overrides"],
                                 "ablation.interactions": 3, "ablation.seeds": 1,
                                 "ablation.eval_per_background": 1, "ablation.curve_checkpoints": 2})
    report = run_ablation(cfg, tmp_path, names=["baseline", "oracle_labels", "passive_only"])
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["table"]) == {"baseline", "oracle_labels", "passive_only"}
    assert len(list((tmp_path / "bootstraps").iterdir())) == 1        # one shared bootstrap
    base_ck = list_checkpoints(tmp_path / "runs" / "baseline_seed0" / "checkpoints")
    pas_ck = list_checkpoints(tmp_path / "runs" / "passive_only_seed0" / "checkpoints")
    assert [v for v, _ in base_ck] == [v for v, _ in pas_ck]
    step = lambda p: read_checkpoint(p)["state"]["step"]   # noqa: E731
    assert step(base_ck[-1][1]) == step(pas_ck[-1][1])               # same optimiser budget
    oracle = json.loads((tmp_path / "runs" / "oracle_labels_seed0" / "evaluation.json").read_text())
    assert oracle["label_stats"]["interaction_examples"] > 0
    assert "val" in results["meta"]["eval_set"] and "baseline" in report.read_text()
    mtime = (tmp_path / "results.json").stat().st_mtime
    run_ablation(cfg, tmp_path, names=["baseline", "oracle_labels", "passive_only"])   # resumes: no new runs
    assert json.loads((tmp_path / "results.json").read_text())["table"] == results["table"]
    assert (tmp_path / "results.json").stat().st_mtime >= mtime
