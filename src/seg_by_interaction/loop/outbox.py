"""Records sent but not yet receipted, so that none is lost when the labeller restarts.

Labelling is idempotent (the store keys examples by robot, interaction, camera and
pair), so sending a record twice is harmless and sending it until it is receipted
makes delivery at-least-once. With a ``directory`` the pending records are also kept on
disk (written atomically), so a coordinator that is killed resends them after restart.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable, Optional


class Outbox:
    def __init__(self, resend_after: float, directory: Optional[str | os.PathLike] = None,
                 encode: Optional[Callable[[Any], bytes]] = None,
                 decode: Optional[Callable[[bytes], Any]] = None):
        if directory is not None and (encode is None or decode is None):
            raise ValueError("an outbox on disk needs encode and decode functions")
        self.resend_after = float(resend_after)
        self.directory = Path(directory) if directory is not None else None
        self._encode, self._decode = encode, decode
        self._pending: dict[int, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: int) -> Path:
        return self.directory / f"{int(key):09d}.rec"

    def restore(self, now: float) -> int:
        """Load records a previous process left unreceipted; they are due at once."""
        if self.directory is None:
            return 0
        n = 0
        for path in sorted(self.directory.glob("*.rec")):
            try:
                record = self._decode(path.read_bytes())
            except Exception:  # a torn file from a kill mid-write: nothing to resend
                path.unlink(missing_ok=True)
                continue
            with self._lock:
                self._pending[int(path.stem)] = (now - self.resend_after, record)
            n += 1
        return n

    def sent(self, key: int, record: Any, now: float) -> None:
        if self.directory is not None:
            tmp = self._path(key).with_suffix(".tmp")
            tmp.write_bytes(self._encode(record))
            os.replace(tmp, self._path(key))
        with self._lock:
            self._pending[key] = (now, record)

    def receipt(self, key: int) -> None:
        with self._lock:
            known = self._pending.pop(key, None) is not None
        if known and self.directory is not None:
            self._path(key).unlink(missing_ok=True)

    def due(self, now: float) -> list[tuple[int, Any]]:
        """Records unreceipted for ``resend_after`` seconds; their clocks restart."""
        with self._lock:
            out = [(k, r) for k, (t, r) in self._pending.items() if now - t >= self.resend_after]
            for k, r in out:
                self._pending[k] = (now, r)
        return sorted(out, key=lambda kr: kr[0])

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)
