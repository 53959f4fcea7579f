"""fork_map: results in order from forked snapshots; a child that fails or hangs is killed
and its share redone in the caller, and no child is left behind."""
from __future__ import annotations

import os
import time

import pytest

from seg_by_interaction.sim.fork_map import fork_map

PARENT = os.getpid()


def _children(pid: int | str = "self") -> set[int]:
    """A process's live or unreaped children (this one's: other fixtures may own some)."""
    from pathlib import Path
    return {int(child) for f in Path(f"/proc/{pid}/task").glob("*/children")
            for child in f.read_text().split()}


@pytest.fixture(autouse=True)
def no_children_left():
    before = _children()
    yield
    assert _children() <= before


@pytest.mark.parametrize("processes", [1, 2, 3, 7])
def test_results_come_back_in_item_order(processes):
    state = {"offset": 100}           # the children see the caller's memory as it was
    items = list(range(5))
    out, redone = fork_map(lambda x: (x * x + state["offset"], os.getpid() != PARENT), items,
                           processes)
    assert [v for v, _ in out] == [x * x + 100 for x in items] and redone == 0
    if processes > 1:               # the first items really were computed elsewhere
        assert out[0][1] and not out[-1][1]


def test_a_child_that_raises_is_redone_here():
    def fn(x):
        if os.getpid() != PARENT:
            raise RuntimeError("renderer crashed")
        return -x
    out, redone = fork_map(fn, [1, 2, 3, 4], 2)
    assert out == [-1, -2, -3, -4] and redone == 1


def test_a_hung_child_is_killed_after_the_timeout_and_redone_here():
    def fn(x):
        if os.getpid() != PARENT:
            time.sleep(60)
        return x + 1
    t0 = time.monotonic()
    out, redone = fork_map(fn, [1, 2], 2, timeout=1.0)
    assert out == [2, 3] and redone == 1
    assert time.monotonic() - t0 < 10


def test_an_error_in_the_callers_share_propagates_and_kills_the_children():
    def fn(x):
        if os.getpid() == PARENT:
            raise ValueError("bad camera")
        time.sleep(60)
        return x
    with pytest.raises(ValueError, match="bad camera"):
        fork_map(fn, [1, 2], 2)


def test_children_die_with_a_parent_killed_by_sigkill(tmp_path):
    """kill -9 of the world mid-render: its renderer children go too (no orphans)."""
    import signal
    import subprocess
    import sys
    from pathlib import Path
    script = ("import sys, time\n"
              "from seg_by_interaction.sim.fork_map import fork_map\n"
              "print('ready', flush=True)\n"
              "fork_map(lambda x: time.sleep(120), [0, 1, 2], processes=3, timeout=300)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 20
        kids: set[int] = set()
        while len(kids) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            kids = _children(proc.pid)
        assert len(kids) == 2, "fork_map did not start its two children"
        time.sleep(0.3)                      # past the children's prctl
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

        def alive(pid: int) -> bool:
            try:
                return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
            except FileNotFoundError:
                return False
        deadline = time.monotonic() + 10
        while any(alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(k) for k in kids), "a renderer child outlived its killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
