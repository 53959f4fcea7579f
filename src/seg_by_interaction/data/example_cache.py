"""Decoded examples kept in memory for the trainer, the least recently used dropped past a
byte budget (``training.example_cache_mb``).

Why: the trainer draws every example again and again (a 500-interaction main job: ~64,000
draws over ~3,700 examples), and decoding its PNG image and mask from the store was 36 %
of a training step (profiled on a main job's store). Cached arrays are read-only, so a
window cutter that wrote into one would fail loudly instead of corrupting later draws.
Masks are kept bit-packed (8x smaller); they are unpacked on each draw.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Hashable

import numpy as np

from seg_by_interaction.types import Example


class ExampleCache:
    def __init__(self, max_bytes: int):
        if int(max_bytes) < 0:
            raise ValueError(f"cache size must be >= 0 bytes, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, tuple] = OrderedDict()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, load: Callable[[], Example]) -> Example:
        """The example under ``key``, from memory, or ``load()``-ed and kept."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return _unpack(entry)
        self.misses += 1
        example = load()
        entry = _pack(example)
        size = _size(entry)
        if size <= self.max_bytes:
            self._entries[key] = entry
            self.nbytes += size
            while self.nbytes > self.max_bytes:
                _, old = self._entries.popitem(last=False)
                self.nbytes -= _size(old)
        return _unpack(entry)


def _pack(example: Example) -> tuple:
    image = np.array(example.image, copy=True)
    image.flags.writeable = False
    packed = None
    if example.mask is not None:
        mask = np.asarray(example.mask, dtype=bool)
        packed = (np.packbits(mask, axis=None), mask.shape)
    return image, packed, tuple(example.pick_px), example.source, dict(example.meta)


def _unpack(entry: tuple) -> Example:
    image, packed, pick_px, source, meta = entry
    mask = None
    if packed is not None:
        bits, shape = packed
        mask = np.unpackbits(bits, count=int(np.prod(shape))).reshape(shape).view(bool)
    return Example(image=image, pick_px=pick_px, mask=mask, source=source, meta=dict(meta))


def _size(entry: tuple) -> int:
    image, packed, *_ = entry
    return int(image.nbytes) + (0 if packed is None else int(packed[0].nbytes))
