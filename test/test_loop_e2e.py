"""The whole loop in sim on a real master: interaction_loop.launch for a handful of
interactions -> Interaction records, stored examples, a trainer update, a segmenter
reload, a bag; then offline labelling of that bag equals live labelling."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

# the loop fixture waits up to 900 s and the offline relabelling 600 s: the per-test cap
# (pytest.ini: 600 s) must not decide first
pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.timeout(1200)]

INTERACTIONS = 5


def tiny_preset(path: Path) -> Path:
    """Small, fast settings on top of the default preset."""
    path.write_text(yaml.safe_dump({
        "base": "default",
        "arena": {"reset_every": 3, "background_every": 4},
        "training": {"update_every": 6, "steps_per_update": 2, "batch_size": 4,
                     "pretrain_steps": 2},
        "inference": {"max_levels": 2, "mask_top_k": 10},
    }))
    return path


def _examples(store_dir: Path):
    """Every stored example by its natural key: positive flag, pick point, and digests of
    the image's and the mask's pixels (two stores compare equal only if every example does)."""
    import hashlib
    from seg_by_interaction.config import load_config
    from seg_by_interaction.data.store import DatasetStore
    store = DatasetStore(store_dir, load_config(), read_only=True)
    rows = {}
    for i in store.ids():
        r = store.row(i)
        key = (r["robot_id"], r["interaction_id"], r["camera"], r["pair"], r["source"])
        ex = store.get(i)
        rows[key] = (bool(r["positive"]), round(r["pick_x"], 3), round(r["pick_y"], 3),
                     hashlib.sha1(ex.image.tobytes()).hexdigest(),
                     None if ex.mask is None else hashlib.sha1(ex.mask.tobytes()).hexdigest())
    store.close()
    return rows


@pytest.fixture(scope="module")
def loop_run(ros_master, tmp_path_factory):
    from support.ros_testing import ManagedProcess
    tmp = tmp_path_factory.mktemp("loop")
    preset = tiny_preset(tmp / "tiny.yaml")
    data = tmp / "data"
    bag = tmp / "interactions.bag"
    viz_dir = tmp / "viz"
    viz_dir.mkdir()
    viz = ManagedProcess(["roslaunch", "seg_by_interaction", "viz.launch", f"out:={viz_dir}"],
                         ros_master.env, tmp / "viz.log")
    logs = tmp / "ros_logs"      # this launch's node logs only (not the session's ROS_HOME)
    proc = ManagedProcess(["roslaunch", "seg_by_interaction", "interaction_loop.launch",
                           f"interactions:={INTERACTIONS}", f"data_dir:={data}",
                           f"preset:={preset}", "record:=true", f"bag:={bag}", "output:=screen"],
                          dict(ros_master.env, ROS_LOG_DIR=str(logs)), tmp / "launch.log")
    try:
        proc.proc.wait(timeout=900)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the loop did not finish in time:\n{proc.log()[-5000:]}")
    finally:
        proc.stop()
        viz.stop()
    return {"data": data, "bag": bag, "preset": preset, "log": proc.log(), "tmp": tmp,
            "rc": proc.proc.returncode, "viz": viz_dir, "logs": logs}


def test_loop_runs_its_budget_and_learns_online(loop_run):
    log = loop_run["log"]
    assert loop_run["rc"] == 0, log[-5000:]
    assert "REQUIRED process" not in log          # a finished budget ends without the red banner
    assert "cannot start" not in log
    assert f"interaction {INTERACTIONS - 1} ({INTERACTIONS}/{INTERACTIONS})" in log, log[-5000:]
    data = loop_run["data"]
    examples = _examples(data / "store")
    interaction_ids = {k[1] for k in examples if k[4] == "interaction"}
    assert len(interaction_ids) >= INTERACTIONS - 1   # a missed pick may yield no view
    assert any(v[0] for v in examples.values())
    checkpoints = sorted((data / "checkpoints").glob("model_v*.pt"))
    assert checkpoints, "the trainer wrote no checkpoint"
    assert "segmenter now runs model v" in (loop_run["log"] + _node_logs(loop_run))
    assert (data / "robot0.next_interaction").read_text() == str(INTERACTIONS)


def test_overlays_reach_image_saver(loop_run):
    """viz.launch (image_view's image_saver) stores both overlays while the loop runs."""
    import cv2
    for kind in ("hypotheses", "labels"):
        saved = sorted(loop_run["viz"].glob(f"sbi_{kind}_*.png"))
        assert saved, f"no {kind} overlay saved"
        assert cv2.imread(str(saved[0])).shape == (350, 430, 3)


def _node_logs(loop_run) -> str:
    return "".join(p.read_text(errors="replace") for p in loop_run["logs"].rglob("*segmenter*.log"))


def test_offline_labelling_of_the_bag_equals_live(loop_run, ros_master):
    bag = loop_run["bag"]
    assert bag.is_file() and not Path(str(bag) + ".active").exists()
    offline = loop_run["tmp"] / "offline"
    out = subprocess.run(["roslaunch", "seg_by_interaction", "offline_labeling.launch",
                          f"bag:={bag}", f"data_dir:={offline}", f"preset:={loop_run['preset']}"],
                         env=ros_master.env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    live = _examples(loop_run["data"] / "store")
    replayed = _examples(offline / "store")
    assert live and replayed == live, out.stdout[-3000:]
