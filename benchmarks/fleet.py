"""Scaling of the fleet on this machine: interactions per minute of fleet.launch with 1,
2 and 4 simulated arenas (one labeller, training paused), and the shared store's write
throughput from one and from two writer threads (the store admits one writer process --
the fleet's one labeller -- and refuses a second, so threads are how it scales).

    .venv/bin/python benchmarks/fleet.py [--quick] [--arenas 1,2,4] [--interactions N]

Rates are fleet totals between the first finished interaction and the last (start-up
excluded), read from each coordinator's on-disk counter. --quick: the store and a
2-arena fleet for a few interactions.
"""
from __future__ import annotations

import argparse
import sys
import threading
import tempfile
import time
from pathlib import Path

import numpy as np


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))   # test/support

def fleet_rate(master, tmp: Path, arenas: int, interactions: int, timeout: float) -> float:
    from support.ros_testing import ManagedProcess, interaction_marks
    data = tmp / f"fleet{arenas}"
    counters = [data / f"robot{k}.next_interaction" for k in range(arenas)]
    proc = ManagedProcess(["roslaunch", "seg_by_interaction", "fleet.launch", f"robots:={arenas}",
                           f"interactions:={interactions}", f"data_dir:={data}", "trainer:=none"],
                          master.env, tmp / f"fleet{arenas}.log")
    marks = interaction_marks(proc, counters, arenas * interactions, timeout)
    done = max(marks) if marks else 0
    first = min((n for n in marks if n > 0), default=None)
    if first is None or done - first < 1:
        raise RuntimeError(f"{arenas} arena(s) made {done} interactions; log: {proc.log()[-3000:]}")
    return 60.0 * (done - first) / (marks[done] - marks[first])


def _write_examples(store, writer: int, count: int, errors: list) -> None:
    try:
        rng = np.random.default_rng(writer)
        image = rng.integers(0, 255, (350, 430, 3), dtype=np.uint8)
        mask = np.zeros((350, 430), bool)
        mask[100:150, 200:260] = True
        for i in range(count):
            store.add_example(image, (230.0, 125.0), mask if i % 2 else None,
                              robot_id=f"robot{writer}", interaction_id=str(i), camera=i % 4)
    except Exception as exc:  # reported by store_rate
        errors.append(exc)


def store_rate(tmp: Path, writers: int, per_writer: int, cfg: dict) -> float:
    """Examples per second written to one store by ``writers`` threads together."""
    from seg_by_interaction.data.store import DatasetStore
    store = DatasetStore(tmp / f"store{writers}", cfg)
    errors: list = []
    threads = [threading.Thread(target=_write_examples, args=(store, w, per_writer, errors))
               for w in range(writers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"a store writer failed: {errors[0]}")
    stored = len(store.ids())
    store.close()
    if stored != writers * per_writer:
        raise RuntimeError(f"store kept {stored} of {writers * per_writer} examples")
    return writers * per_writer / seconds


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--arenas", default=None, help="comma-separated fleet sizes (default 1,2,4)")
    ap.add_argument("--interactions", type=int, default=None, help="per arena")
    args = ap.parse_args()
    sizes = [int(a) for a in (args.arenas or ("2" if args.quick else "1,2,4")).split(",")]
    n = args.interactions or (2 if args.quick else 15)
    per_writer = 20 if args.quick else 200
    from seg_by_interaction.config import load_config
    from support.ros_testing import RosMaster, exit_on_sigterm
    exit_on_sigterm()          # `timeout` / kill: the finally below stops the master
    with tempfile.TemporaryDirectory(prefix="sbi_fleet_bench_") as d:
        tmp = Path(d)
        cfg = load_config()
        one = store_rate(tmp, 1, per_writer, cfg)
        two = store_rate(tmp, 2, per_writer, cfg)
        master = RosMaster(tmp)
        try:
            rates = {k: fleet_rate(master, tmp, k, n, 900) for k in sizes}
        finally:
            master.stop()
    print(f"store_examples_per_s_1_writer: {one:.1f}")
    print(f"store_examples_per_s_2_writers: {two:.1f}")
    print(f"interactions_per_arena: {n}")
    for k in sizes:
        print(f"interactions_per_min_{k}_arena{'s' if k > 1 else ''}: {rates[k]:.1f}")
    if 1 in rates:
        for k in sizes[1:]:
            print(f"speedup_{k}_arenas_vs_1: {rates[k] / rates[1]:.2f}")
    k = max(sizes)
    print(f"interactions_per_min_{k}_arena{'s' if k > 1 else ''}_fleet: {rates[k]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
