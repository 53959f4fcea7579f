"""Ablations of the learning loop (docs/learning.md): why interactions do or do not teach.

Each variant is the in-process loop (the same InteractionLoop, labeller, store and
online trainer the ROS nodes use) with a few configuration changes, run for several
seeds at one interaction budget and judged on the **val** split (choices are made
there; the test split is only for the final numbers). Variants (config ``ablation``):

- ``overrides``: configuration keys (loss, IoU bound, replay mix, schedule, choice...)
- ``mode``: the trainer's loss ("rsl" / "ce")
- ``oracle_labels``: each label replaced by the renderer's mask: ``true`` / ``lifted`` of
  the lifted object, ``moved`` of the object that moved at the point (experiments/oracle.py)
- ``passive_only``: no interactions; the bootstrap set trained for as many optimiser
  steps as the ``reference`` variant's run took (what interactions add)
- ``gt_supervised``: the oracle row: renderer masks of whole scenes, same steps

All variants of one seed share the passive bootstrap (the same pushes, the same
pre-trained v1) when their bootstrap settings are equal, so they differ only in
what happens after it. Interrupted ablations continue where they stopped.
"""
from __future__ import annotations

import copy
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Optional

from seg_by_interaction.config import with_overrides
from seg_by_interaction.evaluation.eval_set import EvalSet
from seg_by_interaction.evaluation.report import curve_entry, run_entry, save_results, write_report
from seg_by_interaction.evaluation.checkpoints import checkpoint_progress, evaluate_checkpoint
from seg_by_interaction.evaluation.sets import ensure_eval_set, ensure_out_of_arena_set
from sbi_research.local_loop import run_session
from sbi_research.oracle import ORACLES
from seg_by_interaction.evaluation.run_report import pick_checkpoints
from seg_by_interaction.perception.checkpoint import read_checkpoint
from seg_by_interaction.training.online import checkpoint_path, list_checkpoints

# settings that only act after the bootstrap: variants differing only here share it
_AFTER_BOOTSTRAP = {"loop", "study", "ablation", "evaluation", "ros", "rearrangement"}
_AFTER_BOOTSTRAP_KEYS = {"training": {"replay", "update_every", "steps_per_update", "poll_hz"},
                         "labeling": {"use_gripper"}}


def variant_config(cfg, spec: dict, seed: int):
    """The configuration of one variant and seed (its overrides checked like a preset's)."""
    return with_overrides(cfg, {**(spec.get("overrides") or {}), "seed": int(seed)},
                          where="ablation variant overrides")


def bootstrap_key(cfg: dict, mode: str) -> str:
    """Hash of everything the passive bootstrap and the pre-trained v1 depend on."""
    kept = {}
    for section, value in cfg.model_dump().items():
        if section in _AFTER_BOOTSTRAP or section == "preset":
            continue
        if isinstance(value, dict) and section in _AFTER_BOOTSTRAP_KEYS:
            value = {k: v for k, v in value.items() if k not in _AFTER_BOOTSTRAP_KEYS[section]}
        kept[section] = value
    blob = json.dumps([kept, mode], sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _copy_bootstrap(src: Path, dst: Path, max_version: Optional[int] = None) -> None:
    """A run folder starting from a shared bootstrap: its store and checkpoints (those up to
    ``max_version``). The store is copied under another name first, so an interrupted copy is
    redone, never taken for a whole store."""
    dst.mkdir(parents=True, exist_ok=True)
    if not (dst / "store").exists():
        partial = dst / "store.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(src / "store", partial)
        partial.rename(dst / "store")
    ck = dst / "checkpoints"
    ck.mkdir(exist_ok=True)
    for version, path in list_checkpoints(src / "checkpoints"):
        if (max_version is None or version <= max_version) and not (ck / path.name).exists():
            shutil.copy2(path, ck / path.name)


def _ensure_bootstrap(cfg: dict, mode: str, root: Path, seed: int) -> Path:
    """Passive pushes + pre-training once per (bootstrap settings, seed)."""
    folder = root / f"bootstrap_{bootstrap_key(cfg, mode)}_seed{seed}"
    if not list_checkpoints(folder / "checkpoints"):
        run_session(cfg, folder, 0, seed=seed, mode=mode, progress=False)
    return folder


def _steps_of(path: Path) -> int:
    return int(read_checkpoint(path)["state"]["step"])


def _passive_only(cfg: dict, run_dir: Path, reference_dir: Path, mode: Optional[str]) -> None:
    """Train the bootstrap set alone, checkpointing at the optimiser steps where the
    reference run checkpointed (each labelled with the reference's interactions)."""
    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.training.trainer import Trainer
    found = list_checkpoints(run_dir / "checkpoints")
    reference = list_checkpoints(reference_dir / "checkpoints")
    store = DatasetStore(run_dir / "store", cfg)
    try:
        last_version, last_path = found[-1]
        trainer = Trainer.resume(last_path, cfg, source=store.source(sources=["passive"]),
                                 device=cfg.device, mode=mode,
                                 metrics_path=run_dir / "training_metrics.jsonl")
        for version, ref_path in reference:
            if version <= last_version:
                continue
            steps = _steps_of(ref_path) - trainer.step
            if steps > 0:
                trainer.train_steps(steps, progress=False)
            info = checkpoint_progress(ref_path)
            trainer.save(checkpoint_path(run_dir / "checkpoints", version),
                         extra={"version": version, "examples_seen": len(store),
                                "interactions_seen": info["interactions_seen"]})
    finally:
        store.close()


def passive_twin(cfg: dict, reference_dir: str | Path, out_dir: str | Path) -> Path:
    """The passive-only twin of a finished run (e.g. the main job): its bootstrap model v1
    trained on its passive set alone, checkpointed at the run's optimiser steps, so that
    ``loop-report`` on ``out_dir`` says what the interactions added at the same budget.
    The reference run is only read; an interrupted twin continues."""
    reference_dir, out_dir = Path(reference_dir), Path(out_dir)
    if out_dir.resolve() == reference_dir.resolve():
        raise ValueError("the twin needs its own folder, not the reference run's")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file, not a folder for the twin")
    reference = list_checkpoints(reference_dir / "checkpoints")
    boot = [(v, path) for v, path in reference if v <= 1]
    if not any(v == 1 for v, _ in boot) or not (reference_dir / "store").is_dir():
        raise FileNotFoundError(f"{reference_dir} holds no bootstrap model v1 and store "
                                "(run the passive bootstrap and the loop first)")
    if len(reference) <= len(boot):
        raise ValueError(f"{reference_dir} has no checkpoint after the bootstrap to match")
    _copy_bootstrap(reference_dir, out_dir, max_version=1)
    _passive_only(cfg, out_dir, reference_dir, mode=None)
    return out_dir


def _gt_supervised(cfg: dict, run_dir: Path, reference_dir: Path, scenes: int, seed: int) -> None:
    from sbi_research.study import train_gt_supervised
    reference = list_checkpoints(reference_dir / "checkpoints")
    steps = _steps_of(reference[-1][1]) if reference else int(cfg.training.pretrain_steps)
    path = Path(train_gt_supervised(cfg, run_dir, scenes, steps, seed, False))
    info = checkpoint_progress(reference[-1][1]) if reference else {"interactions_seen": 0}
    # judged at the reference's budget
    (run_dir / "interactions_seen.json").write_text(json.dumps({"interactions": info["interactions_seen"],
                                                                "checkpoint": str(path)}))


def _interactions_done(run_dir: Path) -> int:
    counter = run_dir / "robot0.next_interaction"
    return int(counter.read_text()) if counter.is_file() else 0


def run_variant(task: dict) -> dict:
    """Collect (or continue) one variant x seed and evaluate its checkpoints on the val set;
    returns {"runs": final run entry, "curve": [...], "pr": ...} (also saved in the run folder)."""
    cfg, spec, seed = task["cfg"], task["spec"], int(task["seed"])
    root, name = Path(task["root"]), task["name"]
    run_dir = root / "runs" / f"{name}_seed{seed}"
    done = run_dir / "evaluation.json"
    if done.is_file():
        return json.loads(done.read_text())
    mode = str(spec.get("mode", "rsl"))
    reference_dir = root / "runs" / f"{spec.get('reference', 'baseline')}_seed{seed}"
    t0 = time.perf_counter()
    if spec.get("gt_supervised"):
        _gt_supervised(cfg, run_dir, reference_dir, int(task["gt_scenes"]), seed)
        found = [(1, checkpoint_path(run_dir / "checkpoints", 1))]
    else:
        boot = _ensure_bootstrap(cfg, mode, root / "bootstraps", seed)
        _copy_bootstrap(boot, run_dir)
        if spec.get("passive_only"):
            _passive_only(cfg, run_dir, reference_dir, mode)
        else:
            remaining = int(task["interactions"]) - _interactions_done(run_dir)
            if remaining > 0:
                run_session(cfg, run_dir, remaining, seed=seed, mode=mode, progress=False,
                            oracle_labels=spec.get("oracle_labels") or False)
        found = list_checkpoints(run_dir / "checkpoints")
    train_s = time.perf_counter() - t0
    eval_set = EvalSet.load(task["eval_json"])
    thresholds = [float(t) for t in cfg.evaluation.iou_thresholds]
    curve, final = [], None
    for version, path in pick_checkpoints(found, int(task["curve_checkpoints"])):
        ev = evaluate_checkpoint(str(path), cfg, eval_set, f"{name} v{version}", False)
        info = checkpoint_progress(path)
        if spec.get("gt_supervised"):
            info["interactions_seen"] = json.loads((run_dir / "interactions_seen.json").read_text())["interactions"]
        curve.append({"interactions": info["interactions_seen"], "seed": seed,
                      "ap": run_entry(ev, seed)["ap"], "version": version})
        final = ev
    result = {"name": name, "seed": seed, "run": run_entry(final, seed), "curve": curve,
              "pr": curve_entry(final, thresholds), "train_s": train_s,
              "eval_s": time.perf_counter() - t0 - train_s, "label_stats": _label_stats(run_dir, cfg)}
    if task.get("ooa_json") and found:      # the final model out of the arena too
        ooa = evaluate_checkpoint(str(found[-1][1]), cfg, EvalSet.load(task["ooa_json"]),
                                  f"{name} out of arena", False)
        result["ooa_run"] = run_entry(ooa, seed)
        result["eval_s"] = time.perf_counter() - t0 - train_s
    done.write_text(json.dumps(result))
    return result


def _label_stats(run_dir: Path, cfg: dict) -> dict:
    """What the run's labeller stored, and the trainer's RSL flip rate."""
    from seg_by_interaction.data.store import DatasetStore
    out: dict = {}
    store_dir = run_dir / "store"
    if store_dir.exists():
        store = DatasetStore(store_dir, cfg)
        try:
            out["interaction_examples"] = store.count(sources=["interaction"])
            out["interaction_positives"] = store.count(sources=["interaction"], positive=True)
            out["passive_examples"] = store.count(sources=["passive"])
        finally:
            store.close()
    metrics = run_dir / "training_metrics.jsonl"
    if metrics.is_file():
        rates = [json.loads(line).get("rsl_flip_rate") for line in metrics.read_text().splitlines() if line]
        rates = [r for r in rates if isinstance(r, (int, float)) and r == r]
        if rates:
            out["rsl_flip_rate"] = sum(rates) / len(rates)
    return out


def _run_all(tasks: list[dict], jobs: int) -> list[dict]:
    if jobs <= 1:
        return [run_variant(t) for t in tasks]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(run_variant, tasks))


def run_ablation(cfg: dict, out: str | Path, names: Optional[list[str]] = None,
                 seeds: Optional[int] = None, interactions: Optional[int] = None, jobs: int = 1,
                 command: str = "") -> Path:
    acfg = cfg.ablation
    variants = {name: v.model_dump() for name, v in acfg.variants.items()}   # plain: JSON, workers
    names = list(names or variants)
    unknown = [n for n in names if n not in variants]
    if unknown:
        raise ValueError(f"unknown ablation variant(s) {unknown} (known: {', '.join(variants)})")
    for n in names:
        oracle = variants[n].get("oracle_labels", False)
        if oracle not in (False, True, None) + ORACLES:
            raise ValueError(f"ablation variant {n}: oracle_labels must be true, false or one of "
                             f"{ORACLES}, got {oracle!r}")
    n_seeds = int(seeds or acfg.seeds)
    budget = int(interactions or acfg.interactions)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    eval_json = ensure_eval_set(out / "eval_sets", cfg, str(acfg.eval_split), seed=int(acfg.eval_seed),
                                images_per_background=int(acfg.eval_per_background))
    # the out-of-arena set's twin with the eval split's objects (choices are not made on test)
    ooa_json = ensure_out_of_arena_set(out / "eval_sets", cfg, object_split=str(acfg.eval_split),
                                       seed=int(acfg.eval_seed)) if acfg.out_of_arena else None

    def task(name: str, seed: int) -> dict:
        spec = variants[name]
        return {"cfg": variant_config(cfg, spec, seed), "spec": spec, "seed": seed, "name": name,
                "root": str(out), "interactions": budget, "eval_json": str(eval_json),
                "ooa_json": str(ooa_json) if ooa_json else None,
                "curve_checkpoints": int(acfg.curve_checkpoints), "gt_scenes": int(acfg.gt_scenes)}

    # references first (others are measured against their step counts), bootstraps once
    needs_ref = {n for n in names if variants[n].get("passive_only") or variants[n].get("gt_supervised")}
    first = [n for n in names if n not in needs_ref]
    for ref in {variants[n].get("reference", "baseline") for n in needs_ref}:
        if ref not in first:
            first.append(ref)
    for seed in range(n_seeds):     # bootstraps sequentially: parallel runs would race on them
        for n in first:
            spec = variants[n]
            if not spec.get("gt_supervised"):
                vc = variant_config(cfg, spec, seed)
                _ensure_bootstrap(vc, str(spec.get("mode", "rsl")), out / "bootstraps", seed)
    results = _run_all([task(n, s) for n in first for s in range(n_seeds)], jobs)
    results += _run_all([task(n, s) for n in names if n in needs_ref for s in range(n_seeds)], jobs)
    by_name: dict = {}
    for r in results:
        if r["name"] in names:
            by_name.setdefault(r["name"], []).append(r)
    report = {"meta": {"title": "seg_by_interaction: ablations of the learning loop (val split)",
                       "command": command, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                       "preset": cfg.preset, "eval_set": f"{eval_json} ({len(EvalSet.load(eval_json))} images)",
                       "only_run_rows": True,
                       "variants": {n: variants[n] for n in names},
                       "label_stats": {n: [r["label_stats"] for r in rs] for n, rs in by_name.items()},
                       "notes": [f"{budget} interactions per run, {n_seeds} seed(s); judged on the val split."],
                       "config": cfg.model_dump()},
              "table": {n: {"runs": [r["run"] for r in rs]} for n, rs in by_name.items()},
              "ap_vs_interactions": {n: [p for r in rs for p in r["curve"]] for n, rs in by_name.items()},
              "pr_curves": {n: rs[0]["pr"] for n, rs in by_name.items()}}
    if ooa_json:
        report["out_of_arena"] = {
            "eval_set": f"{ooa_json} ({len(EvalSet.load(ooa_json))} images; the eval split's objects)",
            "table": {n: {"runs": [r["ooa_run"] for r in rs if "ooa_run" in r]} for n, rs in by_name.items()}}
    clock = {f"{r['name']} seed {r['seed']}": r["train_s"] + r["eval_s"] for r in results}
    clock["total"] = time.perf_counter() - t_all
    report["meta"]["wall_clock_s"] = clock
    save_results(report, out / "results.json")
    return write_report(copy.deepcopy(report), out, cfg.evaluation.report, base_dir=out)
