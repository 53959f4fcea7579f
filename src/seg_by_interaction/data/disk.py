"""Free space on the disk that holds a run's data (the loop pauses below a floor)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional


RESUME_MARGIN = 1.5    # a paused loop resumes at this x the floor: freeing a little does not flap it


def free_mb(folder: str | Path) -> float:
    """MiB free for this user on the filesystem holding ``folder`` (its nearest existing parent)."""
    p = Path(folder)
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free / 2 ** 20


def room_problem(folder: str | Path, min_free_mb: float) -> Optional[str]:
    """None while ``folder``'s disk has at least ``min_free_mb`` free, else a message saying so."""
    free = free_mb(folder)
    if free >= float(min_free_mb):
        return None
    return f"{free:.0f} MB free on {folder}, below ros.record.min_free_mb ({float(min_free_mb):.0f})"
