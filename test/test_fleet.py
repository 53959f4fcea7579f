"""A fleet on one master: fleet.launch with two simulated arenas, one labeller, one
trainer. Interaction records of both robots interleave on /interactions, the shared
store keeps every example exactly once, and a model update reaches both segmenters."""
from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.timeout(1200)]   # the run waits <= 900 s

ROBOTS = 2
INTERACTIONS = 3   # per robot


@pytest.fixture(scope="module")
def fleet_run(ros_master, tmp_path_factory):
    from support.ros_testing import ManagedProcess
    tmp = tmp_path_factory.mktemp("fleet")
    preset = tmp / "tiny.yaml"
    preset.write_text(yaml.safe_dump({
        "base": "default",
        "training": {"update_every": 4, "steps_per_update": 2, "batch_size": 4},
        "inference": {"max_levels": 2, "mask_top_k": 10}}))
    data, bag = tmp / "data", tmp / "interactions.bag"
    ros_home = tmp / "ros_home"   # this launch's node logs only
    env = {**ros_master.env, "ROS_HOME": str(ros_home)}
    proc = ManagedProcess(["roslaunch", "seg_by_interaction", "fleet.launch", f"robots:={ROBOTS}",
                           f"interactions:={INTERACTIONS}", f"data_dir:={data}",
                           f"preset:={preset}", "record:=true", f"bag:={bag}", "output:=screen"],
                          env, tmp / "launch.log")
    try:
        proc.proc.wait(timeout=900)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the fleet did not finish in time:\n{proc.log()[-5000:]}")
    finally:
        proc.stop()
    return {"rc": proc.proc.returncode, "log": proc.log(), "data": data, "bag": bag,
            "ros_home": ros_home}


def test_both_robots_run_their_budget(fleet_run):
    assert fleet_run["rc"] == 0, fleet_run["log"][-5000:]
    assert "REQUIRED process" not in fleet_run["log"]    # success ends without the red banner
    for k in range(ROBOTS):
        assert (fleet_run["data"] / f"robot{k}.next_interaction").read_text() == str(INTERACTIONS)


def test_records_interleave_with_distinct_robot_ids(fleet_run):
    from seg_by_interaction.ros.bag_records import open_bag, read_interactions
    bag = open_bag(fleet_run["bag"])
    try:
        records = [(m.robot_id, m.interaction_id) for m in read_interactions(bag)]
    finally:
        bag.close()
    robots = [r for r, _ in records]
    assert set(robots) == {f"robot{k}" for k in range(ROBOTS)}, records
    # interleaved: the robots ran side by side, not one after the other
    first_of_1, last_of_0 = robots.index("robot1"), len(robots) - 1 - robots[::-1].index("robot0")
    assert first_of_1 < last_of_0, records
    for k in range(ROBOTS):
        ids = sorted({i for r, i in records if r == f"robot{k}"})
        assert ids == list(range(INTERACTIONS)), records


def test_shared_store_keeps_every_example_exactly_once(fleet_run):
    from seg_by_interaction.config import load_config
    from seg_by_interaction.data.store import DatasetStore
    store = DatasetStore(fleet_run["data"] / "store", load_config())
    try:
        keys = [(r["robot_id"], r["interaction_id"], r["camera"], r["pair"], r["source"])
                for r in (store.row(i) for i in store.ids())]
    finally:
        store.close()
    assert keys, "nothing was stored"
    assert not [k for k, n in Counter(keys).items() if n > 1]
    robots = {k[0] for k in keys}
    assert robots == {f"robot{k}" for k in range(ROBOTS)}
    per_robot = Counter((k[0], k[1]) for k in keys)
    for k in range(ROBOTS):
        # a missed pick may yield no example; most interactions yield some
        assert sum(1 for (r, _) in per_robot if r == f"robot{k}") >= INTERACTIONS - 1


def test_each_model_update_reaches_every_segmenter(fleet_run):
    logs = {k: "".join(p.read_text(errors="replace")
                       for p in Path(fleet_run["ros_home"]).rglob(f"robot{k}-segmenter*.log"))
            for k in range(ROBOTS)}
    checkpoints = sorted((fleet_run["data"] / "checkpoints").glob("model_v*.pt"))
    assert checkpoints, "the trainer wrote no checkpoint"
    for k, text in logs.items():
        assert "segmenter now runs model v1" in text, (k, text[-2000:] or fleet_run["log"][-3000:])


def _roslaunch(*args) -> str:
    import os
    out = subprocess.run(["roslaunch", *args], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.mark.parametrize("robots", [0, 1, 3])
def test_fleet_launch_has_one_namespace_per_robot(robots):
    nodes = set(_roslaunch("--nodes", "seg_by_interaction", "fleet.launch",
                           f"robots:={robots}").split())
    per_robot = {"sim_arena", "camera_capture", "pick_place_server", "segmenter", "grasp_planner",
                 "interaction_coordinator"}
    expected = {f"/robot{k}/{n}" for k in range(robots) for n in per_robot} | {"/labeler", "/trainer"}
    assert nodes == expected
    params = _roslaunch("--dump-params", "seg_by_interaction", "fleet.launch",
                        f"robots:={robots}", "seed:=10")
    for k in range(robots):
        assert f"/robot{k}/sim_arena/seed: {10 + k}" in params


def test_external_trainer_and_remote_robot_launches():
    nodes = _roslaunch("--nodes", "seg_by_interaction", "fleet.launch", "robots:=1",
                       "trainer:=external", "interactions:=5").split()
    assert "/checkpoint_announcer" in nodes and "/trainer" not in nodes
    assert "/loop_monitor" in nodes
    remote = _roslaunch("--nodes", "seg_by_interaction", "remote_robot.launch", "machine:=arm3",
                        "address:=127.0.0.1", "env_loader:=/nonexistent/env_loader.sh",
                        "robot_id:=robot7", "data_dir:=/tmp/shared").split()
    assert set(remote) == {f"/robot7/{n}" for n in ("sim_arena", "camera_capture",
                                                    "pick_place_server", "segmenter",
                                                    "grasp_planner", "interaction_coordinator")}
