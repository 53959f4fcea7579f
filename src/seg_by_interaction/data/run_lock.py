"""One run per run folder: a lock held for the life of the process that owns the run.

Two loops on one data_dir fight (on one master their /labeler and /trainer kick each
other out; on two masters they write one store). The owner is a long-lived process (the
roslaunch that runs the loop, or the script around it); its nodes come and go (respawns)
and need no lock of their own. The lock file names the owner (host, pid and the pid's
start time, so a reused pid is not mistaken for it): a claim succeeds when there is no
owner, when the owner is gone (a killed run leaves a stale file, which is simply taken
over), or when the owner is the claimant or one of its ancestors (``run_loop.sh`` owns the
run, the roslaunch it starts claims again).
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Optional

from seg_by_interaction.processes import ancestors, process_command, start_time

LOCK_NAME = "run.lock"


class RunLockHeld(RuntimeError):
    """Another live process owns the run folder."""


def _alive(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        return True                      # cannot tell from here: assume it runs
    return start_time(int(owner.get("pid", 0))) == owner.get("start_time")


def claim(folder: str | Path, owner_pid: int, claimant_pid: Optional[int] = None) -> dict:
    """Make ``owner_pid`` the run folder's owner; the lock record. RunLockHeld (saying who
    holds it) when another live process does, unless that process is an ancestor of
    ``claimant_pid`` (default: this process)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    mine = {"host": socket.gethostname(), "pid": int(owner_pid),
            "start_time": start_time(int(owner_pid)), "command": process_command(int(owner_pid))[:300],
            "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)                  # one claim at a time
        raw = os.read(fd, 65536)
        try:
            held = json.loads(raw) if raw.strip() else None
        except ValueError:
            held = None                                 # a torn file: nobody can own it
        if held and _alive(held):
            family = set(ancestors(claimant_pid or os.getpid())) | {int(owner_pid)}
            same_host = held.get("host") == socket.gethostname()
            if not (same_host and int(held.get("pid", -1)) in family):
                where = "" if same_host else f" on {held.get('host')}"
                raise RunLockHeld(
                    f"{folder} is in use by another run (pid {held.get('pid')}{where}, since "
                    f"{held.get('since')}: {held.get('command') or '?'}); stop that run first, or "
                    f"give this one another data_dir. If that run is gone (another host), remove {path}")
            if int(held.get("pid", -1)) != int(owner_pid):
                return held                             # an ancestor owns it: keep its record
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(mine, sort_keys=True).encode())
        return mine
    finally:
        os.close(fd)


def holder(folder: str | Path) -> Optional[dict]:
    """The live owner's record, or None (no lock, or a stale one)."""
    path = Path(folder) / LOCK_NAME
    try:
        held = json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None
    return held if held and _alive(held) else None

