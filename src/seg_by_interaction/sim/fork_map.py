"""Map a function over items in forked snapshots of this process (Linux ``fork``).

Why: PyBullet's TinyRenderer is single-threaded and holds the GIL, so the four cameras of a
shot render one after the other on one core. A forked child is a copy-on-write snapshot of
the whole world (the DIRECT physics client lives in this process's memory), so it can
render some cameras of the very same scene state while the parent renders the others; the
results come back through a pipe. Nothing in the child may touch what other threads own
(ROS sockets, locks): it runs ``fn``, writes, and leaves with ``os._exit``.

A child that fails, dies or overruns ``timeout`` is killed and its share is computed in the
caller instead: a shot is never lost, only slower.
"""
from __future__ import annotations

import ctypes
import os
import pickle
import select
import signal
import struct
import time
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_HEADER = struct.Struct("<Q")
_PR_SET_PDEATHSIG = 1                     # linux/prctl.h
try:                                      # loaded here, not in the forked child
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:
    _LIBC = None


def can_fork() -> bool:
    return hasattr(os, "fork")


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this child when the thread that forked it dies (fork_map's
    caller waits for its children, so: when the process dies), so a world killed with
    SIGKILL mid-render leaves no renderer behind; a child still computing would otherwise
    run on as an orphan."""
    prctl = getattr(_LIBC, "prctl", None)
    if prctl is not None:                 # elsewhere a killed parent's child ends at EPIPE
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:            # the parent died before prctl took effect
        os._exit(1)


def _child(fn: Callable[[T], R], share: Sequence[T], fd: int, parent: int) -> None:
    code = 1
    try:
        _die_with_parent(parent)
        data = pickle.dumps([fn(x) for x in share], protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            view = view[os.write(fd, view):]
        code = 0
    except BaseException:       # anything: the parent sees a short read and redoes the share
        pass
    finally:
        os._exit(code)


def _read_all(fd: int, deadline: float) -> bytes | None:
    """Everything the child wrote, or None on EOF before the announced length / timeout."""
    chunks, want, got = [], None, 0
    while want is None or got < want + _HEADER.size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
        if want is None and got >= _HEADER.size:
            want = _HEADER.unpack(b"".join(chunks)[:_HEADER.size])[0]
    data = b"".join(chunks)
    return data[_HEADER.size:_HEADER.size + want]


def fork_map(fn: Callable[[T], R], items: Sequence[T], processes: int = 2,
             timeout: float = 30.0) -> tuple[list[R], int]:
    """``[fn(x) for x in items]``, the first items spread over ``processes - 1`` forked
    children, the last share computed here. Returns (results in item order, number of
    shares that had to be redone here because a child failed)."""
    items = list(items)
    processes = max(1, min(int(processes), len(items)))
    if processes == 1 or not can_fork():
        return [fn(x) for x in items], 0
    bounds = [round(i * len(items) / processes) for i in range(processes + 1)]
    shares = [items[bounds[i]:bounds[i + 1]] for i in range(processes)]
    children = []                                   # (pid, read fd, share)
    parent = os.getpid()
    for share in shares[:-1]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            _child(fn, share, w, parent)
        os.close(w)
        children.append((pid, r, share))
    results: list[R] = []
    redone = 0
    try:
        own = [fn(x) for x in shares[-1]]
        deadline = time.monotonic() + float(timeout)
        for pid, r, share in children:
            data = _read_all(r, deadline)
            part = None
            if data is not None:
                try:
                    part = pickle.loads(data)
                except Exception:
                    part = None
            if part is None or len(part) != len(share):
                redone += 1
                part = [fn(x) for x in share]
            results.extend(part)
        results.extend(own)
    finally:
        for pid, r, _ in children:
            os.close(r)
            try:
                if os.waitpid(pid, os.WNOHANG) == (0, 0):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return results, redone
