"""fork_map: results in order from forked snapshots; a child that fails or hangs is killed
and its share redone in the caller, and no child is left behind."""
from __future__ import annotations

import os
import time

import pytest

from seg_by_interaction.sim.fork_map import fork_map

PARENT = os.getpid()


def _children() -> set[int]:
    """This process's live or unreaped children (other fixtures may own some: a roscore)."""
    from pathlib import Path
    return {int(pid) for f in Path("/proc/self/task").glob("*/children")
            for pid in f.read_text().split()}


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
