"""DatasetStore: round trip, idempotent replays, snapshot views, crash safety, COCO, CLI."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from seg_by_interaction.config import load_config
from seg_by_interaction.data import DatasetStore
from seg_by_interaction.types import Example

CFG = load_config()

H, W = 60, 80


def make(i, positive=True):
    rng = np.random.default_rng(i)
    img = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    mask = None
    if positive:
        mask = np.zeros((H, W), bool)
        mask[10 + i % 10:30 + i % 10, 20:45] = True
    return img, mask


def test_round_trip_and_provenance(tmp_path):
    store = DatasetStore(tmp_path / "ds", CFG)
    img, mask = make(1)
    eid = store.add_example(img, (30.5, 20.0), mask, robot_id="sim0", interaction_id="i0001",
                            camera=2, pair=1, split="val", stamp=12.5, meta={"point_xy": [0.1, 0.2]})
    neg_img, _ = make(2, positive=False)
    nid = store.add_example(neg_img, (5, 6), None, robot_id="sim0", interaction_id="i0001",
                            camera=2, pair=0, split="val")
    ex = store.get(eid)
    assert np.array_equal(ex.image, img) and np.array_equal(ex.mask, mask)
    assert ex.pick_px == (30.5, 20.0) and ex.source == "interaction" and ex.positive
    assert ex.meta["camera"] == 2 and ex.meta["pair"] == 1 and ex.meta["split"] == "val"
    assert ex.meta["point_xy"] == [0.1, 0.2] and ex.meta["stamp"] == 12.5
    assert store.get(nid).mask is None
    assert store.count() == 2 and store.count(positive=True) == 1 and store.count(split="train") == 0
    assert len(store) == 2 and isinstance(store[0], Example)


def test_replaying_an_interaction_never_duplicates(tmp_path):
    store = DatasetStore(tmp_path / "ds", CFG)
    img, mask = make(3)
    ids = {store.add_example(img, (1, 1), mask, robot_id="r", interaction_id="a", camera=0, pair=0)
           for _ in range(3)}
    assert len(ids) == 1 and store.count() == 1
    # another source with the same key is another example
    store.add_example(img, (1, 1), mask, robot_id="r", interaction_id="a", source="passive")
    assert store.count() == 2
    assert store.add(Example(img, (1, 1), mask, meta={"robot_id": "r", "interaction_id": "a",
                                                     "camera": 0, "pair": 0})) in ids


def test_snapshot_view_refreshes_and_filters(tmp_path):
    store = DatasetStore(tmp_path / "ds", CFG)
    for i in range(4):
        img, mask = make(i, positive=i % 2 == 0)
        store.add_example(img, (1, 1), mask, robot_id="r", interaction_id=f"i{i}",
                          source="passive" if i == 3 else "interaction")
    view = store.source(sources=["interaction"])
    assert len(view) == 3
    reader = DatasetStore(tmp_path / "ds", CFG).source(sources="interaction", positive=True)
    assert len(reader) == 2
    img, mask = make(9)
    store.add_example(img, (1, 1), mask, robot_id="r", interaction_id="i9")
    assert len(view) == 3 and view.refresh() == 1 and len(view) == 4
    assert reader.refresh() == 1
    with pytest.raises(IndexError):
        view[4]
    with pytest.raises(ValueError):
        store.source(sources=["human"])


def test_bad_inputs_raise(tmp_path):
    store = DatasetStore(tmp_path / "ds", CFG)
    img, mask = make(0)
    with pytest.raises(ValueError):
        store.add_example(img, (1, 1), mask, robot_id="../evil", interaction_id="a")
    with pytest.raises(ValueError):
        store.add_example(img, (1, 1), mask[:10], robot_id="r", interaction_id="a")
    with pytest.raises(ValueError):
        store.add_example(img, (1, 1), mask, robot_id="r", interaction_id="a", source="human")
    assert store.count() == 0


WRITER = textwrap.dedent("""
    import sys, numpy as np
    from seg_by_interaction.config import load_config
    from seg_by_interaction.data import DatasetStore
    store = DatasetStore(sys.argv[1], load_config())
    for i in range(int(sys.argv[2])):
        rng = np.random.default_rng(i)
        img = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        mask = np.zeros((240, 320), bool); mask[50:150, 60:200] = True
        for cam in range(2):
            store.add_example(img, (100, 100), mask if cam == 0 else None, robot_id="sim",
                              interaction_id=f"i{i:04d}", camera=cam, pair=0)
        print(i, flush=True)
""")


def check_all_readable(store):
    for eid in store.ids():
        ex = store.get(eid)
        assert ex.image.shape == (240, 320, 3)
        assert (ex.mask is not None) == (ex.meta["camera"] == 0)


def test_writer_killed_mid_write_never_corrupts(tmp_path):
    import threading
    root = tmp_path / "ds"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    n = 200
    reader = DatasetStore(root, CFG)
    stop, errors, reads = threading.Event(), [], [0]

    def read_loop():                     # the trainer: reads while the writer writes and dies
        view = DatasetStore(root, CFG).source()
        while not stop.is_set():
            try:
                view.refresh()
                if len(view):
                    assert view[len(view) - 1].image.shape == (240, 320, 3)
                    reads[0] += 1
            except Exception as exc:    # noqa: BLE001 - any reader failure fails the test
                errors.append(repr(exc))
            time.sleep(0.002)

    thread = threading.Thread(target=read_loop, daemon=True)
    thread.start()
    rng = np.random.default_rng(0)
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, str(script), str(root), str(n)],
                                stdout=subprocess.PIPE, text=True)
        kill_at = 25 * (round_ + 1) + int(rng.integers(0, 20))
        for _ in range(kill_at):         # kill at a random point of an interaction's writes
            assert proc.stdout.readline(), "writer ended early"
        time.sleep(rng.uniform(0, 0.03))
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
        proc.stdout.close()
        assert reader.integrity_check() == "ok"
        check_all_readable(reader)
        assert reader.count() >= 2 * kill_at
    subprocess.run([sys.executable, str(script), str(root), str(n)], check=True,
                   stdout=subprocess.DEVNULL, timeout=120)
    stop.set()
    thread.join(5)
    assert not errors, errors[:3]
    assert reads[0] > 0
    assert reader.count() == 2 * n                               # replays never duplicated
    assert reader.integrity_check() == "ok"
    check_all_readable(reader)
    assert list((root / "tmp").iterdir()) == []                  # the last writer cleaned up


def test_second_writer_is_refused(tmp_path):
    a, b = DatasetStore(tmp_path / "ds", CFG), DatasetStore(tmp_path / "ds", CFG)
    img, mask = make(0)
    a.add_example(img, (1, 1), mask, robot_id="r", interaction_id="a")
    with pytest.raises(RuntimeError):
        b.add_example(img, (1, 1), mask, robot_id="r", interaction_id="b")
    a.close()
    b.add_example(img, (1, 1), mask, robot_id="r", interaction_id="b")
    assert b.count() == 2


def fill(root):
    store = DatasetStore(root, CFG)
    for i in range(6):
        img, mask = make(i, positive=i != 5)
        store.add_example(img, (1, 1), mask, robot_id="r", interaction_id=f"i{i}",
                          split="train" if i < 4 else "test")
    return store


def test_coco_export_loads_and_evaluates_with_pycocotools(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    store = fill(tmp_path / "ds")
    out = tmp_path / "coco.json"
    assert store.export_coco(out) == {"images": 6, "annotations": 5}
    coco = COCO(str(out))
    assert len(coco.getImgIds()) == 6 and len(coco.getAnnIds()) == 5
    for ann in coco.loadAnns(coco.getAnnIds()):
        ex = store.get(ann["image_id"])
        assert np.array_equal(coco.annToMask(ann).astype(bool), ex.mask)
        assert (tmp_path / "ds" / coco.loadImgs(ann["image_id"])[0]["file_name"]).is_file()
    dets = [dict(a, score=1.0) for a in coco.loadAnns(coco.getAnnIds())]
    ev = COCOeval(coco, coco.loadRes(dets), "segm")
    ev.params.useCats = 0
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)
    assert store.export_coco(out, split="test") == {"images": 2, "annotations": 1}


def test_cli_stats_and_export(tmp_path):
    fill(tmp_path / "ds")
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "seg_by_interaction.data", "stats",
                        str(tmp_path / "ds"), "--json"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["examples"] == 6 and s["positives"] == 5 and s["interactions_labelled"] == 6
    r = subprocess.run([sys.executable, "-m", "seg_by_interaction.data", "export-coco",
                        str(tmp_path / "ds"), str(tmp_path / "o.json")], capture_output=True, text=True)
    assert r.returncode == 0 and "annotations: 5" in r.stdout
    r = subprocess.run([sys.executable, "-m", "seg_by_interaction.data", "stats",
                        str(tmp_path / "nothing")], capture_output=True, text=True)
    assert r.returncode == 2 and "not a dataset store" in r.stderr


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _stats(root, *extra):
    return subprocess.run([sys.executable, "-m", "seg_by_interaction.data", "stats", str(root),
                           *extra], capture_output=True, text=True, timeout=120)


def _closed_store(root):
    fill(root).close()
    for leftover in ("index.sqlite-wal", "index.sqlite-shm"):
        assert not (root / leftover).exists()   # the last connection checkpointed the WAL
    return root


def test_cli_stats_reads_without_writing(tmp_path):
    root = _closed_store(tmp_path / "ds")
    before = _snapshot(root)
    r = _stats(root)
    assert r.returncode == 0, r.stderr
    assert "examples: 6" in r.stdout
    assert _snapshot(root) == before          # not even SQLite's -wal/-shm files appear


@pytest.mark.parametrize("damage,reason", [
    ("empty", "is damaged: it is empty (0 bytes)"),
    ("garbage", "is damaged: not a readable SQLite index (file is not a database)"),
    ("missing", "is missing"),
    ("other_db", "is damaged: it has no examples, store_info tables"),
    ("bad_pages", "is damaged: database disk image is malformed"),   # page 1 (the schema) intact
])
def test_cli_stats_on_a_damaged_index_says_so_and_writes_nothing(tmp_path, damage, reason):
    """A 0-byte index once got a fresh schema and 'examples: 0' beside 413 PNGs."""
    import sqlite3
    root = _closed_store(tmp_path / "ds")
    index = root / "index.sqlite"
    if damage == "empty":
        index.write_bytes(b"")
    elif damage == "garbage":
        index.write_bytes(b"\x00garbage, not SQLite" * 200)
    elif damage == "missing":
        index.unlink()
    elif damage == "bad_pages":
        data = bytearray(index.read_bytes())
        data[4096:] = b"\xff" * (len(data) - 4096)
        index.write_bytes(bytes(data))
    else:
        index.unlink()
        other = sqlite3.connect(index)
        other.execute("CREATE TABLE something_else (x)")
        other.commit()
        other.close()
    before = _snapshot(root)
    for extra in ((), ("--json",)):
        r = _stats(root, *extra)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert r.stdout == ""
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
        assert lines[0].startswith(f"error: {index} {reason}; ")
        assert "examples/ holds 11 PNG files" in lines[0]          # 6 images + 5 masks
        assert "cannot be rebuilt from the PNGs" in lines[0]
    r = subprocess.run([sys.executable, "-m", "seg_by_interaction.data", "export-coco",
                        str(root), str(tmp_path / "o.json")], capture_output=True, text=True)
    assert r.returncode == 2 and f"{index} {reason}" in r.stderr
    assert not (tmp_path / "o.json").exists()
    assert _snapshot(root) == before


def test_read_only_store_refuses_writes(tmp_path):
    from seg_by_interaction.data import StoreError
    root = _closed_store(tmp_path / "ds")
    ro = DatasetStore(root, CFG, read_only=True)
    assert ro.count() == 6 and ro.get(ro.ids()[0]).image.shape == (H, W, 3)
    img, mask = make(9)
    with pytest.raises(StoreError, match="read-only"):
        ro.add_example(img, (1, 1), mask, robot_id="r", interaction_id="new")
    with pytest.raises(StoreError, match="not a dataset store"):
        DatasetStore(tmp_path / "nowhere", CFG, read_only=True)
    assert not (tmp_path / "nowhere").exists()


def test_store_is_usable_from_several_threads(tmp_path):
    """A ROS node writes from a callback thread and reads from another."""
    import threading

    import numpy as np
    from seg_by_interaction.data.store import DatasetStore
    store = DatasetStore(tmp_path / "store", CFG)
    img = np.zeros((20, 30, 3), np.uint8)
    errors = []

    def write(k):
        try:
            store.add_example(img, (5, 5), None, robot_id="r", interaction_id=str(k))
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 4 and len(store) == 4


def test_store_reads_no_hidden_preset(tmp_path):
    with pytest.raises(TypeError):
        DatasetStore(tmp_path / "ds")                        # the caller passes its configuration
    from seg_by_interaction.config import load_config
    section = load_config(overrides={"store.busy_timeout_ms": 1234, "store.png_compression": 1}).store
    slow = DatasetStore(tmp_path / "ds", section)
    assert slow._busy_ms == 1234 and slow._png_level == 1    # the store section is what it uses
    slow.close()
