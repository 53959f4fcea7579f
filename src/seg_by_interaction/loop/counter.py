"""A per-robot interaction counter on disk, so ids stay unique across restarts."""
from __future__ import annotations

import os
import re
from pathlib import Path


class InteractionCounter:
    def __init__(self, data_dir: str | os.PathLike, robot_id: str):
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", robot_id):
            raise ValueError(f"robot id '{robot_id}' may hold letters, digits, '_' and '-' only")
        self.path = Path(data_dir) / f"{robot_id}.next_interaction"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.next_id = int(self.path.read_text().strip())
        except FileNotFoundError:
            self.next_id = 0
        except ValueError as exc:
            raise ValueError(f"{self.path} is corrupt: {exc}") from exc
        self.saved = self.next_id if self.path.exists() else None   # what the file holds

    def advance(self, next_id: int) -> None:
        """Move the counter on; in memory at once, on disk atomically (an OSError - a full
        disk - leaves the old file and no half-written one; ``advance`` again to retry)."""
        self.next_id = int(next_id)
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(str(self.next_id))
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.saved = self.next_id

    @property
    def dirty(self) -> bool:
        """The file is behind the counter (a write failed, or ``at_least`` moved it on)."""
        return self.saved != self.next_id

    def at_least(self, next_id: int) -> None:
        """Never hand out an id below ``next_id`` (ids held by records still in the outbox)."""
        if int(next_id) > self.next_id:
            self.next_id = int(next_id)
