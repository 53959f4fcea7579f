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

    def advance(self, next_id: int) -> None:
        self.next_id = int(next_id)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(self.next_id))
        os.replace(tmp, self.path)
