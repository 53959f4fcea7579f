"""Facts about other processes from /proc (Linux): who a process is, who started it, ending
a roslaunch the way Ctrl-C does, and a free loopback port for a new master."""
from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from typing import Optional


def free_port() -> int:
    """A TCP port free on loopback right now (never assume 11311 is free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_time(pid: int) -> Optional[str]:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()[19]


def parent(pid: int) -> Optional[int]:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])


def process_command(pid: int) -> str:
    """The command line of a process (empty when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def ancestors(pid: int) -> list[int]:
    """``pid`` and its parents up to init."""
    out = []
    while pid and pid not in out:
        out.append(pid)
        pid = parent(pid) or 0
    return out


def end_launch(pid: int) -> bool:
    """SIGINT to ``pid`` if it is a roslaunch (how a finished loop ends its launch cleanly:
    every node stops, exit status 0); False when it is not one."""
    if "roslaunch" not in process_command(pid):
        return False
    os.kill(pid, signal.SIGINT)
    return True
