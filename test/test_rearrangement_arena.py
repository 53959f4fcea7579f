"""Rearrangement in the arena without ROS: an episode with ground-truth segments succeeds
(measured with the simulator's object positions), bad goals are refused with clear errors,
the no-segmentation baseline finds what changed, and the CLI writes its report."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sbi_research.config import load_config
from sbi_research.rearrangement.baseline import DifferenceRearranger, changed_regions
from seg_by_interaction.rearrangement.planner import Rearranger, RearrangementError
from sbi_research.rearrangement.scenes import pixel_errors, prepare_episode
from sbi_research.rearrangement.steps import GroundTruthSteps
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.sim.robot import SimRobot

SEED = 200


@pytest.fixture(scope="module")
def cfg():
    STANDARD = load_config().evaluation.standard_arena
    return load_config(overrides=STANDARD)      # the paper's task: objects the jaws hold


@pytest.fixture
def arena(cfg):
    with Arena(cfg, seed=SEED, split=cfg["rearrangement"]["evaluation"]["split"]) as a:
        yield a


def _planner(cfg, arena):
    robot = SimRobot(arena)
    robot.home()
    return Rearranger.from_config(cfg, GroundTruthSteps(arena, robot, cfg), "appearance",
                                  workspace=robot.workspace)


def test_episode_with_ground_truth_segments_succeeds(cfg, arena):
    planner = _planner(cfg, arena)
    tol = cfg["rearrangement"]["tolerance_px"]
    ep = prepare_episode(arena, cfg, 3, SEED)           # two objects displaced
    before = pixel_errors(arena, ep)
    assert len(ep.displaced) == 2
    assert all(before[k] > 3 * tol for k in ep.displaced)
    assert all(before[k] < 1.0 for k in before if k not in ep.displaced)
    feedback = []
    result = planner.run(ep.target, ep.camera, feedback=lambda *a: feedback.append(a))
    after = pixel_errors(arena, ep)
    assert max(after.values()) <= tol, after             # ground truth, not the planner's view
    assert result.success and 2 <= result.interactions <= cfg["rearrangement"]["max_interactions"]
    assert result.final_distance_px <= tol and result.matched == len(before)
    assert all(m.object_in_gripper for m in result.moves[:2])
    assert feedback[0][0] == 0 and feedback[0][1] == 2   # two pairs too far at the start
    assert feedback[-1][1] == 0


def test_bad_goals_refused(cfg, arena):
    planner = _planner(cfg, arena)
    ep = prepare_episode(arena, cfg, 0, SEED)
    image = ep.target.images[ep.camera]
    with pytest.raises(RearrangementError, match=r"target image is 215x175 but camera 0 gives 430x350"):
        planner.run(image[::2, ::2], 0)
    with pytest.raises(RearrangementError, match="camera 7 does not exist"):
        planner.run(image, 7)
    with pytest.raises(RearrangementError, match="empty"):
        planner.run(np.zeros((0, 0, 3), np.uint8), 0)
    with pytest.raises(RearrangementError, match="RGB uint8"):
        planner.run(image.astype(np.float32), 0)
    # a target view of the empty table: nothing to match
    arena.clear_objects()
    empty_table = arena.render(include_ground_truth=True)
    with pytest.raises(RearrangementError, match="no objects found in the target image"):
        planner.run(empty_table, 0)
    # objects in the target but none in the current view
    with pytest.raises(RearrangementError, match="no objects found in the current image"):
        planner.run(ep.target, ep.camera)
    # a learned planner whose segmenter finds nothing says the same
    arena.reset_scene(4)
    planner.min_score = 1.01
    with pytest.raises(RearrangementError, match="no objects found in the target image"):
        planner.run(arena.render(include_ground_truth=True), 0)


def test_changed_regions_find_a_moved_object(cfg):
    rng = np.random.default_rng(0)
    table = rng.integers(90, 110, size=(120, 160, 3), dtype=np.uint8)
    target, current = table.copy(), table.copy()
    target[20:45, 20:50] = (200, 30, 30)     # the object where it belongs
    current[70:95, 100:130] = (200, 30, 30)  # ... and where it is now
    regions = changed_regions(current, target, cfg["labeling"], 300)
    assert len(regions) == 2
    boxes = sorted((int(np.nonzero(r)[0].mean()), int(np.nonzero(r)[1].mean())) for r in regions)
    assert boxes[0] == pytest.approx((32, 35), abs=3) and boxes[1] == pytest.approx((82, 115), abs=3)
    assert changed_regions(table, table, cfg["labeling"], 300) == []


def test_difference_baseline_moves_the_displaced_object(cfg, arena):
    robot = SimRobot(arena)
    robot.home()
    baseline = DifferenceRearranger.from_config(cfg, GroundTruthSteps(arena, robot, cfg),
                                                workspace=robot.workspace)
    ep = prepare_episode(arena, cfg, 2, SEED)           # one object displaced
    (obj,) = ep.displaced
    before = pixel_errors(arena, ep)[obj]
    result = baseline.run(ep.target.images[ep.camera], ep.camera, max_interactions=3)
    assert 1 <= result.interactions <= 3
    assert any(m.object_in_gripper for m in result.moves)
    assert pixel_errors(arena, ep)[obj] < before / 4


def test_cli_writes_report(tmp_path):
    from sbi_research.__main__ import main
    out = tmp_path / "rearr"
    assert main(["rearrange", "--out", str(out), "--episodes", "1", "--checkpoint", "untrained",
                 "--only", "gt_appearance"]) == 0
    report = (out / "report.md").read_text()
    assert "| Ground-truth segments, appearance | 1 |" in report
    assert "--checkpoint untrained --only gt_appearance" in report
    assert (out / "rearrangement.png").stat().st_size > 1000
    results = json.loads((out / "results.json").read_text())
    (row,) = results["methods"]
    assert row["summary"]["episodes"] == 1 and len(row["episodes"]) == 1
    assert main(["rearrange", "--out", str(out), "--only", "nothing_like_this"]) == 2
    assert main(["rearrange", "--out", str(out), "--checkpoint", str(tmp_path / "none.pt")]) == 2
