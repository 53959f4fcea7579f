"""Helpers for tests against a real ROS master: start roscore/roslaunch, wait for things.

Everything started here runs in its own process group so that a test can kill a
launch file with all of its nodes.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from support.environment import free_port, ros_environment


_PR_SET_PDEATHSIG = 1                     # linux/prctl.h


def _die_with_parent(parent: int) -> Callable[[], None]:
    """preexec_fn: the child gets SIGTERM when the process that started it dies, even by
    SIGKILL (a benchmark killed by `timeout` left its roscore running for good)."""
    def preexec() -> None:
        try:
            import ctypes
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:           # it died before prctl took effect
            os._exit(1)
    return preexec


def exit_on_sigterm() -> None:
    """SIGTERM (`timeout`, `kill`) raises SystemExit in the main thread, so the tool's
    ``finally`` blocks stop what it started instead of leaving it running."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)


class ManagedProcess:
    """A subprocess in its own process group, stopped with all its children; it also ends
    when the process that started it dies."""

    def __init__(self, argv: Sequence[str], env: dict, log_path: Path, cwd: Optional[Path] = None):
        self.argv = list(argv)
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, env=env, cwd=cwd, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True,
                                     preexec_fn=_die_with_parent(os.getpid()))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> None:
        if self.alive:
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


class RosMaster(ManagedProcess):
    """A real roscore on a free loopback port."""

    def __init__(self, log_dir: Path, port: Optional[int] = None):
        self.port = port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.env = dict(ros_environment())
        self.env.update(ROS_MASTER_URI=self.uri, ROS_HOSTNAME="127.0.0.1",
                        ROS_HOME=str(Path(log_dir) / "ros_home"))
        self.env.pop("ROS_IP", None)
        Path(self.env["ROS_HOME"]).mkdir(parents=True, exist_ok=True)
        super().__init__(["roscore", "-p", str(self.port)], self.env, Path(log_dir) / "roscore.log")
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        import rosgraph
        master = rosgraph.Master("/pytest", master_uri=self.uri)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"roscore exited:\n{self.log()}")
            try:
                master.getPid()
                # /rosout comes up right after the master; wait for it too.
                if any(name == "/rosout" for name, _ in _nodes(master)):
                    return
            except Exception:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"roscore on {self.uri} did not come up:\n{self.log()}")


def _nodes(master):
    pubs, subs, srvs = master.getSystemState()
    names = set()
    for _, nodes in pubs + subs + srvs:
        names.update(nodes)
    return [(n, None) for n in names]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, period: float = 0.1):
    """Poll ``predicate`` until true; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(period)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_topic(name: str, timeout: float = 30.0) -> None:
    """Wait until someone publishes ``name``."""
    import rostopic
    wait_until(lambda: rostopic.get_topic_type(name)[0] is not None, timeout, f"topic {name}")


def wait_for_service(name: str, timeout: float = 30.0) -> None:
    import rospy
    rospy.wait_for_service(name, timeout=timeout)


def interaction_marks(proc: ManagedProcess, counters: Sequence[Path], total: int,
                      timeout: float, period: float = 0.05) -> dict[int, float]:
    """While ``proc`` runs: {n: monotonic time the coordinators' on-disk counters
    (``<robot>.next_interaction``, summed) first read n}, until they reach ``total``.
    ``proc`` is stopped on return. For benchmarks timing a launched loop."""
    marks: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.alive:
            done = 0
            for counter in counters:
                try:
                    done += int(Path(counter).read_text())
                except (FileNotFoundError, ValueError):
                    pass
            marks.setdefault(done, time.monotonic())
            if done >= total:
                break
            time.sleep(period)
    finally:
        proc.stop()
    return marks
