"""Train/val/test splits of the arena's libraries, fixed by the library seed.

A split must never hold two versions of the same asset (one photograph saved twice,
two models of the same wine bottle), so items carry a group and whole groups are
assigned: test first, then val, then train, each filled to its size; groups left
over are not used (the paper's library sizes are kept exactly).
"""
from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test")


def split_groups(groups: list[str], counts: list[int], seed: int) -> list[str | None]:
    """Split name (or None = unused) per item, whole groups at a time."""
    need = dict(zip(SPLITS, (int(c) for c in counts)))
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    names = sorted(members)
    order = np.random.default_rng(seed).permutation(len(names))
    out: list[str | None] = [None] * len(groups)
    for k in order:
        idx = members[names[int(k)]]
        for split in ("test", "val", "train"):
            if need[split] >= len(idx):
                need[split] -= len(idx)
                for i in idx:
                    out[i] = split
                break
    short = {s: n for s, n in need.items() if n > 0}
    if short:
        have = len(groups)
        raise ValueError(f"split sizes {list(counts)} need {sum(int(c) for c in counts)} items in whole groups; "
                         f"the library has {have} items in {len(names)} groups ({short} missing)")
    return out
