"""The ablation runner on a tiny budget: variants share the bootstrap, the passive-only
row trains as many steps as its reference, every row is judged on the val split."""
import hashlib
import json

from sbi_research.config import load_config


def test_tiny_ablation_runs_shares_the_bootstrap_and_resumes(tmp_path):
    from sbi_research.ablation import run_ablation
    from seg_by_interaction.perception.checkpoint import read_checkpoint
    from seg_by_interaction.training.online import list_checkpoints
    base = load_config()
    cfg = load_config(overrides={**base["study"]["budgets"]["tiny"]["overrides"],
                                 "ablation.interactions": 3, "ablation.seeds": 1,
                                 "ablation.eval_per_background": 1, "ablation.curve_checkpoints": 2})
    report = run_ablation(cfg, tmp_path, names=["baseline", "oracle_labels", "oracle_moved", "passive_only"])
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["table"]) == {"baseline", "oracle_labels", "oracle_moved", "passive_only"}
    assert len(list((tmp_path / "bootstraps").iterdir())) == 1        # one shared bootstrap
    base_ck = list_checkpoints(tmp_path / "runs" / "baseline_seed0" / "checkpoints")
    pas_ck = list_checkpoints(tmp_path / "runs" / "passive_only_seed0" / "checkpoints")
    assert [v for v, _ in base_ck] == [v for v, _ in pas_ck]
    step = lambda p: read_checkpoint(p)["state"]["step"]   # noqa: E731
    assert step(base_ck[-1][1]) == step(pas_ck[-1][1])               # same optimiser budget
    oracle = json.loads((tmp_path / "runs" / "oracle_labels_seed0" / "evaluation.json").read_text())
    assert oracle["label_stats"]["interaction_examples"] > 0
    moved = json.loads((tmp_path / "runs" / "oracle_moved_seed0" / "evaluation.json").read_text())
    assert moved["label_stats"]["interaction_examples"] > 0
    assert "val" in results["meta"]["eval_set"] and "baseline" in report.read_text()

    def snapshot():
        """Every file of the runs, the shared bootstraps and the evaluation sets, with its
        content and its modification time in ns: a re-run, re-evaluation, re-copied
        bootstrap or re-rendered set changes one (results.json and the report are rewritten
        on every call and are not in it)."""
        out = {}
        for folder in ("runs", "bootstraps", "eval_sets"):
            for p in sorted((tmp_path / folder).rglob("*")):
                if p.is_file():
                    out[str(p.relative_to(tmp_path))] = (hashlib.sha256(p.read_bytes()).hexdigest(),
                                                         p.stat().st_mtime_ns)
        return out
    before = snapshot()
    assert any(k.endswith("evaluation.json") for k in before) and any(".pt" in k for k in before)
    # resumes: no new runs
    run_ablation(cfg, tmp_path, names=["baseline", "oracle_labels", "oracle_moved", "passive_only"])
    assert json.loads((tmp_path / "results.json").read_text())["table"] == results["table"]
    after = snapshot()
    assert after.keys() == before.keys(), sorted(set(after) ^ set(before))
    assert [k for k in before if after[k] != before[k]] == []


def test_a_variant_with_an_unknown_oracle_is_refused_before_any_work(tmp_path):
    import pytest
    from sbi_research.ablation import run_ablation
    from sbi_research.config import ResearchConfig
    from seg_by_interaction.config import validate
    cfg = load_config()
    data = cfg.model_dump()
    data["ablation"]["variants"]["bad"] = {"oracle_labels": "psychic"}
    with pytest.raises(ValueError, match=r"ablation\.variants\.bad\.oracle_labels"):   # at load
        validate(data, model=ResearchConfig)
    with pytest.raises(ValueError, match="unknown ablation variant"):
        run_ablation(cfg, tmp_path / "out", names=["bad"])
    assert not (tmp_path / "out" / "eval_sets").exists()


def test_passive_twin_matches_a_finished_runs_steps_and_only_reads_it(tmp_path):
    """The main job's 'what did interactions add' row: same checkpoints, same optimiser
    steps, passive examples only; the reference run is left as it was."""
    import hashlib
    from sbi_research.__main__ import main as cli
    from sbi_research.ablation import passive_twin
    from sbi_research.local_loop import run_session
    from seg_by_interaction.perception.checkpoint import read_checkpoint
    from seg_by_interaction.training.online import list_checkpoints
    base = load_config()
    cfg = load_config(overrides=base["study"]["budgets"]["tiny"]["overrides"])
    ref = tmp_path / "run"
    run_session(cfg, ref, 8, seed=0, progress=False)
    ref_ck = list_checkpoints(ref / "checkpoints")
    assert len(ref_ck) >= 3                                    # v1 and updates after it

    def digest(folder):
        return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file()}
    before = digest(ref)
    twin = passive_twin(cfg, ref, tmp_path / "twin")
    assert digest(ref) == before                               # read, never written
    twin_ck = list_checkpoints(twin / "checkpoints")
    assert [v for v, _ in twin_ck] == [v for v, _ in ref_ck]
    step = lambda p: read_checkpoint(p)["state"]["step"]   # noqa: E731
    assert [step(p) for _, p in twin_ck] == [step(p) for _, p in ref_ck]
    assert read_checkpoint(twin_ck[-1][1])["state"]["step"] > read_checkpoint(twin_ck[1][1])["state"]["step"]
    # the weights differ from the reference's after v1: trained on other examples
    import torch
    a = read_checkpoint(twin_ck[-1][1])["model"]
    b = read_checkpoint(ref_ck[-1][1])["model"]
    assert any(not torch.equal(a[k], b[k]) for k in a)
    # bad references: a clear error and exit code 2, nothing created
    assert cli(["passive-twin", "--reference", str(tmp_path / "nothing"), "--out", str(tmp_path / "t2")]) == 2
    assert not (tmp_path / "t2").exists()
    (tmp_path / "a_file").write_text("x")
    assert cli(["passive-twin", "--reference", str(ref), "--out", str(tmp_path / "a_file")]) == 2
    assert cli(["passive-twin", "--reference", str(ref), "--out", str(ref)]) == 2
