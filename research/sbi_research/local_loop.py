"""Algorithm 1 in one process over the simulated arena: the same InteractionLoop,
labeller, store and online trainer the ROS nodes use, called directly.

The ROS system is the product; this runner exists so that the study can collect
data for several methods and seeds on 2 cores without a master and its message
copies, and so that ROS-free tests can drive the whole learning loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from tqdm import tqdm

from seg_by_interaction.labeling.labeler import InteractionLabeler
from seg_by_interaction.labeling.passive import collect_passive, passive_complete
from seg_by_interaction.loop.algorithm import InteractionLoop, InteractionRecord
from seg_by_interaction.loop.counter import InteractionCounter
from seg_by_interaction.loop.local_steps import LocalSteps
from seg_by_interaction.perception.inference import Segmenter
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.sim.robot import SimRobot
from seg_by_interaction.training.online import OnlineTrainer


@dataclass
class SessionStats:
    interactions: int
    examples: int
    positives: int
    model_version: int
    lifted: int


def run_session(cfg: dict, data_dir: str | Path, interactions: int, seed: int = 0,
                mode: Optional[str] = None, robot_id: str = "robot0", progress: bool = True,
                on_update: Optional[Callable[[int, int, str], None]] = None,
                human_fraction: float = 0.0, passive: bool = True,
                oracle_labels: bool | str = False) -> SessionStats:
    """Run (or continue) ``interactions`` interactions with online learning.

    ``on_update(version, interactions_done, checkpoint)`` is called after each model
    update (the study evaluates checkpoints along the way from these).
    ``oracle_labels``: the label-noise ablation (experiments/oracle.py), never the product:
    False, True (= "lifted") or one of ``oracle.ORACLES``.
    """
    data_dir = Path(data_dir)
    online = OnlineTrainer(cfg, data_dir, device=cfg.device, mode=mode,
                           human_fraction=human_fraction)
    if oracle_labels:
        from sbi_research.oracle import OracleLabeler
        labeler = OracleLabeler(online.store, cfg,
                                oracle="lifted" if oracle_labels is True else str(oracle_labels))
    else:
        labeler = InteractionLabeler(online.store, cfg)
    arena = Arena(cfg, seed=seed, split="train")
    try:
        arena.set_background(None)
        arena.reset_scene()
        robot = SimRobot(arena)
        robot.home()
        if passive and online.version == 0 and not passive_complete(online.store):
            collect_passive(online.store, arena, robot, cfg, seed=seed, progress=progress)
            arena.set_background(None)
            arena.reset_scene()
            robot.home()
        steps = LocalSteps(arena, robot, Segmenter(online.trainer.served_model, cfg, cfg.device), cfg,
                           ground_truth=bool(oracle_labels))
        steps.model_version = online.version
        info = online.pretrain()
        if info is not None and on_update is not None:
            on_update(info.version, 0, info.checkpoint)
        steps.model_version = online.version
        counter = InteractionCounter(data_dir, robot_id)
        loop = InteractionLoop(cfg, steps, robot.workspace, seed=seed + counter.next_id,
                               start_id=counter.next_id)
        lifted = 0
        bar = tqdm(total=interactions, desc=f"interactions ({robot_id})", disable=not progress)
        for _ in range(interactions):
            steps.segmenter.model.eval()
            record: InteractionRecord = loop.run_one()
            counter.advance(record.interaction_id + 1)
            lifted += int(record.outcome.object_in_gripper)
            extra = {"held_id": record.outcome.extra.get("held_object_id")} if oracle_labels else {}
            labeler.label(robot_id, record.interaction_id, record.before, record.held,
                          record.after, (record.pick.x, record.pick.y),
                          (record.place.x, record.place.y),
                          object_in_gripper=bool(record.outcome.object_in_gripper), **extra)
            info = online.maybe_update()
            if info is not None:
                steps.model_version = info.version   # the segmenter shares the trainer's model
                if on_update is not None:
                    on_update(info.version, loop.next_id, info.checkpoint)
            bar.set_postfix(model=f"v{online.version}", examples=len(online.interaction_source))
            bar.update(1)
        bar.close()
        return SessionStats(loop.next_id, online.store.count(sources=["interaction"]),
                            online.store.count(sources=["interaction"], positive=True),
                            online.version, lifted)
    finally:
        arena.close()
        online.close()
