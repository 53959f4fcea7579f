"""On a loopback set-up (scripts/env.sh's default) nothing the loop starts listens beyond
127.0.0.1: rosout and rosbag record (roscpp binds its XML-RPC server to every interface)
are kept on loopback by csrc/loopback_bind.c, and other programs bind as they ask."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros


def _listening(pid: int) -> list[str]:
    """Local addresses (hex ip:port, IPv4) of the TCP sockets ``pid`` listens on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[3] == "0A" and f[9] in inodes:        # LISTEN, one of this process's sockets
            out.append(f[1])
    return out


def _pids(name: str) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()
            and Path(f"/proc/{p}/comm").exists() and Path(f"/proc/{p}/comm").read_text().strip() == name]


def test_rosout_and_rosbag_record_listen_on_loopback_only(ros_master, tmp_path):
    env = dict(ros_master.env)
    assert "loopback_bind" in env.get("LD_PRELOAD", ""), "scripts/env.sh preloads the shim"
    rec = subprocess.Popen(["rosbag", "record", "-O", str(tmp_path / "x.bag"), "/nothing",
                            "__name:=loopback_probe"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(_listening(p) for p in _pids("record")):
            time.sleep(0.2)
        checked = 0
        for pid in _pids("record") + _pids("rosout"):     # every one running: all on loopback
            for addr in _listening(pid):
                assert addr.split(":")[0] == "0100007F", (pid, addr)   # 127.0.0.1, little-endian
                checked += 1
        assert checked >= 4          # record's and rosout's XML-RPC and TCPROS ports
    finally:
        rec.terminate()
        rec.wait(timeout=30)


def test_other_programs_bind_where_they_ask():
    """The shim leaves everyone else alone: torch's gloo (the DDP tests) binds the
    host's address, and a server asking for every interface gets it."""
    code = ("import socket; s = socket.socket(); s.bind(('0.0.0.0', 0)); s.listen();"
            "print(s.getsockname()[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ), timeout=30)
    assert out.stdout.strip() == "0.0.0.0", out.stdout + out.stderr
