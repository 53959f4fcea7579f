"""Arena evaluation of rearrangement: the same episodes for every method.

Each method gets its own arena; episode ``i`` reseeds the scene from (seed, i), so all
methods face the same scenes, targets and displaced objects. Success and distances are
measured with ground truth (``scenes.pixel_errors``), never with a segmenter:

* success: every object within ``tolerance_px`` of its target position in the camera;
* final distance: mean pixel error of the displaced objects at the end;
* interactions: pick/place actions used.

Methods: ground-truth segments (the upper bound), the learned segmenter at several
checkpoints (``None`` = untrained), each with a descriptor, and the no-segmentation
difference baseline.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
from tqdm import tqdm

from seg_by_interaction.config import with_overrides
from sbi_research.rearrangement.baseline import DifferenceRearranger
from seg_by_interaction.rearrangement.planner import Rearranger, RearrangementError
from sbi_research.rearrangement.scenes import pixel_errors, prepare_episode
from sbi_research.rearrangement.steps import GroundTruthSteps
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.sim.robot import SimRobot

KINDS = ("ground_truth", "learned", "difference")


@dataclass
class MethodSpec:
    """One row of the table."""
    key: str
    label: str
    kind: str                          # one of KINDS
    descriptor: str = "appearance"
    checkpoint: Optional[str] = None   # learned: the segmenter; trunk: whose trunk (None = untrained)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown method kind {self.kind!r} (use one of {KINDS})")


@dataclass
class EpisodeOutcome:
    episode: int
    camera: int
    objects: int
    displaced: int
    success: bool                 # ground truth: every object within the tolerance
    initial_mean_px: float        # displaced objects, before
    final_mean_px: float          # displaced objects, after
    final_max_px: float           # every object, after
    interactions: int
    robot_success: bool           # the method's own judgement
    message: str
    seconds: float


def _checkpoint_name(path: Optional[str]) -> str:
    return "untrained" if path is None else Path(path).stem


def default_methods(cfg: dict, checkpoints: Sequence[Optional[str]],
                    trunk_checkpoint: Optional[str] = None) -> list[MethodSpec]:
    """GT segments (both descriptors), the learned stages (configured descriptor; the last
    one with both), and the difference baseline."""
    rc = cfg.rearrangement
    trunk_ckpt = trunk_checkpoint if trunk_checkpoint is not None else (
        checkpoints[-1] if checkpoints else None)
    out = [MethodSpec("gt_appearance", "Ground-truth segments, appearance", "ground_truth",
                      "appearance"),
           MethodSpec("gt_trunk", f"Ground-truth segments, trunk of {_checkpoint_name(trunk_ckpt)}",
                      "ground_truth", "trunk", trunk_ckpt)]
    for i, ck in enumerate(checkpoints):
        names = ["appearance", "trunk"] if i == len(checkpoints) - 1 else [rc.descriptor]
        for d in names:
            out.append(MethodSpec(f"learned_{_checkpoint_name(ck)}_{d}",
                                  f"Learned ({_checkpoint_name(ck)}), {d}", "learned", d, ck))
    out.append(MethodSpec("difference", "No segmentation: most-changed region", "difference"))
    return out


def _planner(cfg: dict, spec: MethodSpec, arena: Arena, robot: SimRobot):
    from seg_by_interaction.loop.local_steps import LocalSteps
    if spec.kind == "difference":
        return DifferenceRearranger.from_config(cfg, LocalSteps(arena, robot, None, cfg),
                                                workspace=robot.workspace)
    model = None
    if spec.kind == "learned" or spec.descriptor == "trunk":
        from seg_by_interaction.perception.inference import load_segmenter
        segmenter = load_segmenter(spec.checkpoint, cfg, device=cfg.device)
        model = segmenter.model
    steps = (GroundTruthSteps(arena, robot, cfg) if spec.kind == "ground_truth"
             else LocalSteps(arena, robot, segmenter, cfg))
    return Rearranger.from_config(cfg, steps, spec.descriptor, model=model,
                                  workspace=robot.workspace)


def run_method(cfg: dict, spec: MethodSpec, episodes: int, seed: int, progress: bool = False,
               on_episode: Optional[Callable[[EpisodeOutcome], None]] = None) -> list[EpisodeOutcome]:
    """``episodes`` arena episodes of one method (scenes fixed by ``seed``)."""
    ec = cfg.rearrangement.evaluation
    tol = float(cfg.rearrangement.tolerance_px)
    out = []
    with Arena(with_overrides(cfg, cfg.evaluation.standard_arena), seed=seed, split=ec.split) as arena:
        robot = SimRobot(arena)
        planner = _planner(cfg, spec, arena, robot)
        for i in tqdm(range(int(episodes)), desc=spec.key, disable=not progress):
            robot.home()
            ep = prepare_episode(arena, cfg, i, seed)
            before = pixel_errors(arena, ep)
            t0 = time.perf_counter()
            try:
                res = planner.run(ep.target, ep.camera)
                done, robot_ok, message = res.interactions, res.success, res.message
            except RearrangementError as exc:
                done, robot_ok, message = 0, False, str(exc)
            after = pixel_errors(arena, ep)
            outcome = EpisodeOutcome(
                episode=i, camera=ep.camera, objects=len(before), displaced=len(ep.displaced),
                success=bool(max(after.values()) <= tol),
                initial_mean_px=float(np.mean([before[k] for k in ep.displaced])),
                final_mean_px=float(np.mean([after[k] for k in ep.displaced])),
                final_max_px=float(max(after.values())), interactions=int(done),
                robot_success=bool(robot_ok), message=message,
                seconds=time.perf_counter() - t0)
            out.append(outcome)
            if on_episode is not None:
                on_episode(outcome)
    return out


def summarise(outcomes: Sequence[EpisodeOutcome]) -> dict:
    """Success rate (with a 95 % Wilson interval), distances and interactions."""
    n = len(outcomes)
    if n == 0:
        raise ValueError("no episodes to summarise")
    k = sum(o.success for o in outcomes)
    p, z = k / n, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"episodes": n, "successes": k, "success_rate": p,
            "success_ci95": [max(0.0, centre - half), min(1.0, centre + half)],
            "initial_mean_px": float(np.mean([o.initial_mean_px for o in outcomes])),
            "final_mean_px": float(np.mean([o.final_mean_px for o in outcomes])),
            "final_median_px": float(np.median([o.final_mean_px for o in outcomes])),
            "mean_interactions": float(np.mean([o.interactions for o in outcomes])),
            "robot_success_rate": float(np.mean([o.robot_success for o in outcomes])),
            "seconds_per_episode": float(np.mean([o.seconds for o in outcomes]))}


def evaluate(cfg: dict, methods: Sequence[MethodSpec], episodes: int, seed: int,
             progress: bool = False) -> dict:
    """Every method over the same episodes -> a JSON-serialisable results dict."""
    rows = []
    for spec in methods:
        t0 = time.perf_counter()
        outcomes = run_method(cfg, spec, episodes, seed, progress=progress)
        rows.append({**asdict(spec), "summary": summarise(outcomes),
                     "episodes": [asdict(o) for o in outcomes],
                     "wall_clock_s": time.perf_counter() - t0})
    return {"episodes": int(episodes), "seed": int(seed),
            "tolerance_px": float(cfg.rearrangement.tolerance_px),
            "max_interactions": int(cfg.rearrangement.max_interactions),
            "methods": rows}


def stage_checkpoints(directory, stages: int) -> list[Optional[str]]:
    """Untrained plus ``stages - 1`` checkpoints spread over a run, the newest last."""
    from seg_by_interaction.training.online import list_checkpoints
    found = list_checkpoints(directory)
    if stages < 1:
        raise ValueError(f"stages must be >= 1, got {stages}")
    picked: list[Optional[str]] = [None]
    if found and stages > 1:
        idx = np.unique(np.linspace(0, len(found) - 1, stages).round().astype(int)[1:])
        picked += [str(found[i][1]) for i in idx]
    return picked


def run_and_report(cfg: dict, out_dir, episodes: Optional[int] = None, seed: Optional[int] = None,
                   checkpoints: Sequence[Optional[str]] = (None,), only: Sequence[str] = (),
                   command: str = "", progress: bool = True) -> Path:
    """Evaluate the default methods (``only``: keys or kinds to keep) and write the report."""
    from sbi_research.rearrangement.report import write_report
    ec = cfg.rearrangement.evaluation
    episodes = int(ec.episodes if episodes is None else episodes)
    seed = int(ec.seed if seed is None else seed)
    methods = default_methods(cfg, list(checkpoints))
    if only:
        known = {m.key for m in methods} | set(KINDS)
        unknown = sorted(set(only) - known)
        if unknown:
            raise ValueError(f"unknown methods {unknown} (use keys {sorted(m.key for m in methods)} "
                             f"or kinds {list(KINDS)})")
        methods = [m for m in methods if m.key in only or m.kind in only]
    t0 = time.perf_counter()
    results = evaluate(cfg, methods, episodes, seed, progress=progress)
    results["meta"] = {
        "title": "Rearranging objects to match a target image (paper 6.3.1) in the arena",
        "command": command, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "wall_clock_s": time.perf_counter() - t0, "preset": cfg.preset,
        "notes": [f"Checkpoints: {', '.join(_checkpoint_name(c) for c in checkpoints)}; "
                  f"scenes: {ec['split']} backgrounds and objects, "
                  f"{ec['objects_per_scene'][0]}-{ec['objects_per_scene'][1]} objects, "
                  f"{ec['displaced'][0]}-{ec['displaced'][1]} displaced to random free spots.",
                  "Descriptors: appearance = smoothed Lab histogram + log area + log elongation; "
                  "trunk = the DeepMask trunk's features averaged over the mask (no ImageNet "
                  "weights: the paper's AlexNet features cannot be used here).",
                  "Baseline: no segmentation; moves the largest region of the lighting-robust "
                  "difference image to the changed region that looks most like it in the target."]}
    return write_report(results, out_dir, dpi=int(ec.dpi))
