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
        self._on_disk: set[int] = set()             # pending records whose file is written
        self.unreadable: list[tuple[Path, str]] = []   # files restore() moved aside, and why
        self._lock = threading.Lock()
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: int) -> Path:
        return self.directory / f"{int(key):09d}.rec"

    def restore(self, now: float) -> int:
        """Load records a previous process left unreceipted; they are due at once.

        Files are written whole or not at all (``sent``), so one that does not decode was
        made by another version or damaged on disk: it is moved to ``unreadable/`` (with the
        reason in the log via ``self.unreadable``), never deleted."""
        if self.directory is None:
            return 0
        n = 0
        for leftover in self.directory.glob("*.tmp"):   # a kill or a full disk mid-write
            leftover.unlink(missing_ok=True)
        for path in sorted(self.directory.glob("*.rec")):
            try:
                record = self._decode(path.read_bytes())
            except Exception as exc:
                aside = self.directory / "unreadable"
                aside.mkdir(exist_ok=True)
                os.replace(path, aside / path.name)
                self.unreadable.append((aside / path.name, f"{type(exc).__name__}: {exc}"))
                continue
            with self._lock:
                self._pending[int(path.stem)] = (now - self.resend_after, record)
                self._on_disk.add(int(path.stem))
            n += 1
        return n

    def sent(self, key: int, record: Any, now: float) -> None:
        """Keep ``record`` until its receipt. On disk first (an OSError - a full disk - leaves
        nothing half-written and the record still pending in memory: ``persist`` retries)."""
        with self._lock:
            self._pending[key] = (now, record)
        self.persist(key)

    def persist(self, key: Optional[int] = None) -> int:
        """Write pending records that are only in memory (``key``: just that one) to disk;
        how many were written. OSError (a full disk) propagates; nothing half-written stays."""
        if self.directory is None:
            return 0
        with self._lock:
            keys = [key] if key is not None else [k for k in self._pending if k not in self._on_disk]
            records = {k: self._pending[k][1] for k in keys if k in self._pending}
        n = 0
        for k, record in sorted(records.items()):
            tmp = self._path(k).with_suffix(".tmp")
            try:
                tmp.write_bytes(self._encode(record))
                os.replace(tmp, self._path(k))
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            with self._lock:
                self._on_disk.add(k)
            n += 1
        return n

    def only_in_memory(self) -> int:
        """Pending records that could not be written to disk yet."""
        with self._lock:
            return sum(1 for k in self._pending if k not in self._on_disk)

    def receipt(self, key: int) -> None:
        with self._lock:
            known = self._pending.pop(key, None) is not None
            self._on_disk.discard(key)
        if known and self.directory is not None:
            self._path(key).unlink(missing_ok=True)

    def defer(self, key: int, now: float) -> bool:
        """The receiver could not take ``key`` now (its store is full): keep it, and restart
        its resend clock. False if it is not pending."""
        with self._lock:
            if key not in self._pending:
                return False
            self._pending[key] = (now, self._pending[key][1])
            return True

    def due(self, now: float) -> list[tuple[int, Any]]:
        """Records unreceipted for ``resend_after`` seconds; their clocks restart."""
        with self._lock:
            out = [(k, r) for k, (t, r) in self._pending.items() if now - t >= self.resend_after]
            for k, r in out:
                self._pending[k] = (now, r)
        return sorted(out, key=lambda kr: kr[0])

    def keys(self) -> list[int]:
        with self._lock:
            return sorted(self._pending)

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)
