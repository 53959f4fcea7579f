"""The dataset store: examples on disk, indexed in SQLite.

Layout under ``root``::

    index.sqlite            WAL-mode index: one row per example
    examples/<source>/<robot>/<interaction>/c<camera>_p<pair>.png (+ _mask.png)
    tmp/                    half-written files (removed by the next writer)
    writer.lock             flock held by the one writer

Crash safety comes from the order of operations: every PNG is written to tmp/
and moved into place with ``os.replace`` (atomic), and only then is the index
row committed (SQLite's own atomic commit). A writer killed at any moment leaves
at most orphan files that no row points to; replaying the same interaction
rewrites them and inserts the row. Rows are unique on the natural key (robot_id,
interaction_id, camera, pair, source), so replays never duplicate. Readers use
their own connection (WAL: readers never block the writer and see only
committed rows).

Read commands open the index read-only (``read_only=True``: SQLite ``mode=ro``, and
``immutable`` when no writer has a WAL open, so not even SQLite's -wal/-shm files are
created) and check it first: an empty, garbage or schema-less index is reported as
damaged (``StoreError``), never silently recreated.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence

import cv2
import numpy as np

from seg_by_interaction.types import SOURCES, Example

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS examples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    robot_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    camera INTEGER NOT NULL,
    pair INTEGER NOT NULL,
    source TEXT NOT NULL,
    split TEXT NOT NULL,
    positive INTEGER NOT NULL,
    pick_x REAL NOT NULL,
    pick_y REAL NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    image_path TEXT NOT NULL,
    mask_path TEXT,
    stamp REAL,
    created REAL NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    UNIQUE (robot_id, interaction_id, camera, pair, source)
);
CREATE INDEX IF NOT EXISTS examples_split_source ON examples (split, source, positive);
CREATE TABLE IF NOT EXISTS store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_TABLES = ("examples", "store_info")   # older stores also hold an unused 'interactions'
                                       # table (raw shots, never read): ignored

_NO_REBUILD = ("the index cannot be rebuilt from the PNGs (pick points, splits and provenance "
               "are stored only in index.sqlite): restore it from a backup, or relabel the "
               "recorded interactions (offline_labeling.launch) into a new store")


class StoreError(RuntimeError):
    """A store that cannot be read as it is (missing or damaged index), or a write to a
    store opened read-only."""


def _example_files(root: Path) -> int:
    folder = root / "examples"
    return sum(1 for _ in folder.rglob("*.png")) if folder.is_dir() else 0


def damaged(root, problem: str) -> StoreError:
    """The StoreError for an unusable index: its path, the problem ('is damaged: ...',
    'is missing'), and what can be done."""
    root = Path(root)
    n = _example_files(root)
    held = f"; examples/ holds {n} PNG files, but" if n else ";"
    return StoreError(f"{root / 'index.sqlite'} {problem}{held} {_NO_REBUILD}")


_COLUMNS = ("id", "robot_id", "interaction_id", "camera", "pair", "source", "split", "positive",
            "pick_x", "pick_y", "width", "height", "image_path", "mask_path", "stamp", "created",
            "meta")


def _check_name(what: str, value) -> str:
    s = str(value)
    if not _NAME.match(s):
        raise ValueError(f"{what} {s!r} must be 1-128 characters of letters, digits, '.', '_', '-'")
    return s


def _filters(split=None, sources=None, positive=None, robot_id=None) -> tuple[str, list]:
    where, args = [], []
    if split is not None:
        where.append("split = ?")
        args.append(str(split))
    if sources is not None:
        sources = [sources] if isinstance(sources, str) else list(sources)
        for s in sources:
            if s not in SOURCES:
                raise ValueError(f"unknown source {s!r} (known: {', '.join(SOURCES)})")
        where.append(f"source IN ({','.join('?' * len(sources))})")
        args.extend(sources)
    if positive is not None:
        where.append("positive = ?")
        args.append(int(bool(positive)))
    if robot_id is not None:
        where.append("robot_id = ?")
        args.append(str(robot_id))
    return (" WHERE " + " AND ".join(where)) if where else "", args


class DatasetStore:
    """Examples (image, pick point, mask or None) with provenance; see the module doc.

    Opening never takes the writer lock; the first write does, so a trainer may
    open the same root read-only while the labeller writes. ``len(store)`` and
    ``store[i]`` follow the trainer's ExampleSource protocol over all examples
    (refreshed on each ``len``); ``store.source(...)`` gives a filtered snapshot.
    """

    def __init__(self, root, cfg: Mapping, read_only: bool = False):
        """``cfg``: the configuration or its ``store`` section (never a hidden preset)."""
        if cfg is None:
            raise TypeError("DatasetStore needs the configuration (or its store section)")
        c = cfg.store if "store" in cfg else cfg
        self.root = Path(root)
        self.read_only = bool(read_only)
        if not self.read_only:
            self.root.mkdir(parents=True, exist_ok=True)
        self._fsync = bool(c.fsync)
        self._busy_ms = int(c.busy_timeout_ms)
        self._png_level = int(c.png_compression)
        self._local = threading.local()     # one connection per thread and process
        self._writer_mutex = threading.Lock()  # threads of one writer share its file lock
        self._lock_fd: Optional[int] = None
        self._all: Optional[ExampleView] = None
        if self.read_only:
            self._check_index()
        else:
            self._init_db()

    # ------------------------------------------------------------ connections
    def _conn(self) -> sqlite3.Connection:
        """One connection per thread and process: sqlite3 connections may not cross
        threads (a ROS callback thread writes, another reads) and a forked DataLoader
        worker must open its own."""
        local = self._local
        if getattr(local, "conn", None) is None or local.pid != os.getpid():
            if self.read_only:
                conn = self._connect_read_only()
            else:
                conn = sqlite3.connect(self.root / "index.sqlite", timeout=self._busy_ms / 1000.0,
                                       isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            local.conn, local.pid = conn, os.getpid()
        return local.conn

    def _connect_read_only(self) -> sqlite3.Connection:
        path = (self.root / "index.sqlite").absolute()
        if not path.is_file():
            raise StoreError(f"{self.root} is not a dataset store (no index.sqlite)")
        # With no -wal file no writer holds uncheckpointed pages: everything committed is
        # in the main file, and `immutable` reads it without creating -wal/-shm files.
        wal = path.with_name(path.name + "-wal").exists()
        uri = f"file:{urllib.parse.quote(str(path))}?mode=ro" + ("" if wal else "&immutable=1")
        return sqlite3.connect(uri, uri=True, timeout=self._busy_ms / 1000.0,
                               isolation_level=None)

    def _check_index(self) -> None:
        """StoreError unless index.sqlite is a readable index with the store's tables."""
        path = self.root / "index.sqlite"
        if not path.is_file():
            if _example_files(self.root):
                raise damaged(self.root, "is missing")
            raise StoreError(f"{self.root} is not a dataset store (no index.sqlite)")
        if path.stat().st_size == 0:
            raise damaged(self.root, "is damaged: it is empty (0 bytes)")
        try:
            tables = {r[0] for r in self._conn().execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise damaged(self.root, f"is damaged: not a readable SQLite index ({exc})") from exc
        missing = [t for t in _TABLES if t not in tables]
        if missing:
            raise damaged(self.root, f"is damaged: it has no {', '.join(missing)} table"
                          f"{'s' if len(missing) > 1 else ''}")

    def _init_db(self) -> None:
        conn = self._conn()
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL" if self._fsync else "PRAGMA synchronous = NORMAL")
        conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
        conn.execute("INSERT OR IGNORE INTO store_info VALUES ('schema_version', ?)",
                     (str(SCHEMA_VERSION),))

    def close(self) -> None:
        local = self._local
        if getattr(local, "conn", None) is not None and local.pid == os.getpid():
            local.conn.close()
        local.conn = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        state = dict(self.__dict__)
        state.update(_lock_fd=None)
        state.pop("_local", None)
        state.pop("_writer_mutex", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()
        self._writer_mutex = threading.Lock()

    # ------------------------------------------------------------ writing
    def _take_writer_lock(self) -> None:
        if self.read_only:
            raise StoreError(f"the dataset store {self.root} was opened read-only")
        if self._lock_fd is not None:
            return
        with self._writer_mutex:
            if self._lock_fd is None:
                self._take_writer_lock_once()

    def _take_writer_lock_once(self) -> None:
        fd = os.open(self.root / "writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RuntimeError(f"another process is writing to the dataset store {self.root}")
        self._lock_fd = fd
        tmp = self.root / "tmp"
        tmp.mkdir(exist_ok=True)
        for leftover in tmp.iterdir():      # a killed writer's half-written files
            leftover.unlink(missing_ok=True)

    def _write_png(self, rel: str, img: np.ndarray) -> None:
        if img.ndim == 3:
            img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, self._png_level])
        if not ok:
            raise ValueError(f"could not encode {rel} as PNG")
        final = self.root / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.root / "tmp" / f"{uuid.uuid4().hex}.png"
        with open(tmp, "wb") as f:
            f.write(buf.tobytes())
            if self._fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, final)

    def _existing(self, key: tuple) -> Optional[int]:
        row = self._conn().execute(
            "SELECT id FROM examples WHERE robot_id=? AND interaction_id=? AND camera=? AND pair=?"
            " AND source=?", key).fetchone()
        return None if row is None else int(row[0])

    def add_example(self, image: np.ndarray, pick_px, mask: Optional[np.ndarray], *,
                    robot_id: str, interaction_id: str, camera: int = 0, pair: int = 0,
                    source: str = "interaction", split: str = "train",
                    stamp: Optional[float] = None, meta: Optional[Mapping] = None) -> int:
        """Store one example; returns its id. Adding the same natural key
        (robot_id, interaction_id, camera, pair, source) again returns the first id."""
        robot_id = _check_name("robot_id", robot_id)
        interaction_id = _check_name("interaction_id", interaction_id)
        split = _check_name("split", split)
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r} (known: {', '.join(SOURCES)})")
        camera, pair = int(camera), int(pair)
        if camera < 0 or pair < 0:
            raise ValueError("camera and pair must be non-negative")
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be HxWx3 uint8 RGB, got {image.dtype} {image.shape}")
        h, w = image.shape[:2]
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (h, w):
                raise ValueError(f"mask shape {mask.shape} does not match image {(h, w)}")
            mask = mask.astype(bool)
        px, py = float(pick_px[0]), float(pick_px[1])
        meta_json = json.dumps(dict(meta or {}), sort_keys=True, default=_json_default)
        key = (robot_id, interaction_id, camera, pair, source)
        found = self._existing(key)
        if found is not None:
            return found
        self._take_writer_lock()
        base = f"examples/{source}/{robot_id}/{interaction_id}/c{camera}_p{pair}"
        self._write_png(base + ".png", image)
        mask_rel = None
        if mask is not None:
            mask_rel = base + "_mask.png"
            self._write_png(mask_rel, mask.astype(np.uint8) * 255)
        try:
            cur = self._conn().execute(
                "INSERT INTO examples (robot_id, interaction_id, camera, pair, source, split,"
                " positive, pick_x, pick_y, width, height, image_path, mask_path, stamp, created,"
                " meta) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*key, split, int(mask is not None), px, py, w, h, base + ".png", mask_rel,
                 None if stamp is None else float(stamp), time.time(), meta_json))
            return int(cur.lastrowid)
        except sqlite3.IntegrityError:
            return self._existing(key)

    def add(self, example: Example, **provenance) -> int:
        """``add_example`` from a types.Example; provenance keys not given are read from its meta."""
        meta = dict(example.meta)
        kw = {k: provenance.pop(k, meta.pop(k, None))
              for k in ("robot_id", "interaction_id", "camera", "pair", "split", "stamp")}
        kw = {k: v for k, v in kw.items() if v is not None}
        meta.update(provenance.pop("meta", {}) or {})
        if provenance:
            raise ValueError(f"unknown provenance fields: {sorted(provenance)}")
        return self.add_example(example.image, example.pick_px, example.mask,
                                source=example.source, meta=meta, **kw)

    # ------------------------------------------------------------ reading
    def _read_rgb(self, rel: str) -> np.ndarray:
        img = cv2.imread(str(self.root / rel), cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f"cannot read image {self.root / rel}")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def row(self, example_id: int) -> dict:
        r = self._conn().execute(f"SELECT {', '.join(_COLUMNS)} FROM examples WHERE id=?",
                                 (int(example_id),)).fetchone()
        if r is None:
            raise KeyError(f"no example with id {example_id}")
        d = dict(zip(_COLUMNS, r))
        d["meta"] = json.loads(d["meta"])
        return d

    def get(self, example_id: int) -> Example:
        """The stored example; provenance is in ``meta`` (id, robot_id, camera, pair, split...)."""
        d = self.row(example_id)
        image = self._read_rgb(d["image_path"])
        mask = None
        if d["mask_path"] is not None:
            m = cv2.imread(str(self.root / d["mask_path"]), cv2.IMREAD_GRAYSCALE)
            if m is None:
                raise OSError(f"cannot read mask {self.root / d['mask_path']}")
            mask = m > 127
        meta = dict(d["meta"])
        meta.update({k: d[k] for k in ("id", "robot_id", "interaction_id", "camera", "pair",
                                       "split", "stamp", "created")})
        return Example(image=image, pick_px=(d["pick_x"], d["pick_y"]), mask=mask,
                       source=d["source"], meta=meta)

    def ids(self, split=None, sources=None, positive=None, robot_id=None, after_id: int = 0) -> list[int]:
        where, args = _filters(split, sources, positive, robot_id)
        where = (where + " AND" if where else " WHERE") + " id > ?"
        return [r[0] for r in self._conn().execute(
            f"SELECT id FROM examples{where} ORDER BY id", (*args, int(after_id)))]

    def count(self, split=None, sources=None, positive=None, robot_id=None) -> int:
        where, args = _filters(split, sources, positive, robot_id)
        return int(self._conn().execute(f"SELECT COUNT(*) FROM examples{where}", args).fetchone()[0])

    def count_interactions(self, split=None, sources=None, positive=None, robot_id=None) -> int:
        """Distinct (robot, interaction) pairs among the matching examples."""
        where, args = _filters(split, sources, positive, robot_id)
        return int(self._conn().execute(
            f"SELECT COUNT(*) FROM (SELECT DISTINCT robot_id, interaction_id FROM examples{where})",
            args).fetchone()[0])

    def iter(self, split=None, sources=None, positive=None, robot_id=None) -> Iterator[Example]:
        for i in self.ids(split, sources, positive, robot_id):
            yield self.get(i)

    def source(self, split=None, sources=None, positive=None, cache=None) -> "ExampleView":
        """A snapshot of the matching examples for the trainer; ``.refresh()`` adds new ones.
        ``cache`` (data.example_cache.ExampleCache) keeps decoded examples in memory."""
        return ExampleView(self, split=split, sources=sources, positive=positive, cache=cache)

    def __len__(self) -> int:
        if self._all is None:
            self._all = self.source()
        else:
            self._all.refresh()
        return len(self._all)

    def __getitem__(self, i: int) -> Example:
        if self._all is None:
            self._all = self.source()
        return self._all[i]

    def stats(self) -> dict:
        conn = self._conn()
        rows = conn.execute("SELECT source, split, positive, COUNT(*) FROM examples"
                            " GROUP BY source, split, positive ORDER BY source, split, positive")
        groups = [{"source": s, "split": sp, "positive": bool(p), "count": n} for s, sp, p, n in rows]
        return {
            "examples": sum(g["count"] for g in groups),
            "positives": sum(g["count"] for g in groups if g["positive"]),
            "interactions_labelled": conn.execute(
                "SELECT COUNT(DISTINCT robot_id || '/' || interaction_id) FROM examples").fetchone()[0],
            "robots": [r[0] for r in conn.execute("SELECT DISTINCT robot_id FROM examples ORDER BY 1")],
            "groups": groups,
        }

    def info(self, key: str) -> Optional[str]:
        """A value of the store's own key-value table (markers such as a completed
        bootstrap), or None when it was never set."""
        row = self._conn().execute("SELECT value FROM store_info WHERE key = ?",
                                   (str(key),)).fetchone()
        return None if row is None else str(row[0])

    def set_info(self, key: str, value: str) -> None:
        """Set a store_info value (committed at once; takes the writer lock)."""
        self._take_writer_lock()
        self._conn().execute("INSERT OR REPLACE INTO store_info VALUES (?, ?)",
                             (str(key), str(value)))

    def integrity_check(self) -> str:
        return self._conn().execute("PRAGMA integrity_check").fetchone()[0]

    def export_coco(self, path, split=None, sources=None) -> dict:
        from seg_by_interaction.data.coco import export_coco
        return export_coco(self, path, split=split, sources=sources)


class ExampleView:
    """A fixed, ordered list of example ids (so indices stay valid during an epoch);
    ``refresh()`` appends examples committed since, with one indexed query. Examples are
    never changed once stored, so a ``cache`` keyed by id stays true."""

    def __init__(self, store: DatasetStore, split=None, sources=None, positive=None, cache=None):
        self.store = store
        self.cache = cache
        self.filters = dict(split=split, sources=sources, positive=positive)
        _filters(**self.filters)               # validate now, not at the first refresh
        self._ids: list[int] = []
        self.refresh()

    def refresh(self) -> int:
        """Add newly committed examples; returns how many were added."""
        new = self.store.ids(**self.filters, after_id=self._ids[-1] if self._ids else 0)
        self._ids.extend(new)
        return len(new)

    @property
    def ids(self) -> Sequence[int]:
        return tuple(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, i: int) -> Example:
        if not -len(self._ids) <= i < len(self._ids):
            raise IndexError(f"index {i} out of range for {len(self._ids)} examples")
        example_id = self._ids[i]
        if self.cache is None:
            return self.store.get(example_id)
        return self.cache.get((str(self.store.root), example_id), lambda: self.store.get(example_id))

    def __iter__(self) -> Iterator[Example]:
        for i in range(len(self._ids)):
            yield self[i]


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"cannot store {type(o).__name__} in example meta as JSON")
