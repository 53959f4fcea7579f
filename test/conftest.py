"""Shared fixtures: a real roscore on a free loopback port, one rospy node per process,
and launch files in their own process groups."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def ros_master(tmp_path_factory):
    """A real roscore for the whole session; os.environ points at it."""
    from support.ros_testing import RosMaster
    master = RosMaster(tmp_path_factory.mktemp("roscore"))
    saved = dict(os.environ)
    os.environ.update(master.env)
    yield master
    master.stop()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def ros_node(ros_master):
    """This test process as a rospy node (init_node may run only once per process)."""
    import rospy
    rospy.init_node("pytest", anonymous=True, disable_signals=True)
    yield rospy
    rospy.signal_shutdown("tests done")


@pytest.fixture
def launch(ros_master, tmp_path):
    """Start roslaunch/rosrun commands; all are killed (process group) after the test."""
    from support.ros_testing import ManagedProcess
    started = []

    def _start(*argv, name="proc", env=None):
        e = dict(ros_master.env)
        e.update(env or {})
        p = ManagedProcess(list(argv), e, tmp_path / f"{name}-{len(started)}.log")
        started.append(p)
        return p

    yield _start
    for p in reversed(started):
        p.stop()
