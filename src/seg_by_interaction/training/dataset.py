"""Where training examples come from, as far as the trainer cares: a sized,
indexable collection of ``types.Example`` (interaction, passive or ground truth).
The SQLite dataset store implements the same protocol."""
from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from seg_by_interaction.types import SOURCES, Example


@runtime_checkable
class ExampleSource(Protocol):
    def __len__(self) -> int: ...
    def __getitem__(self, i: int) -> Example: ...


class InMemorySource:
    """Examples held in a list (tests, benchmarks, small experiments)."""

    def __init__(self, examples: Sequence[Example]):
        for i, ex in enumerate(examples):
            if not isinstance(ex, Example):
                raise ValueError(f"item {i} is a {type(ex).__name__}, not an Example")
            if ex.source not in SOURCES:
                raise ValueError(f"item {i}: unknown source '{ex.source}' (known: {SOURCES})")
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> Example:
        return self.examples[i]


class MixedSource:
    """Several sources seen in fixed proportions (the paper's "+human": a fraction of
    ground-truth-labelled images mixed into self-supervised data).

    Index i of the virtual range [0, len) falls in source k's share of the range
    (share ~ weight k) and is wrapped onto that source, so drawing indices
    uniformly draws from each source with its weight. Lengths are read on every
    call, so growing sources (an online store) are followed.
    """

    def __init__(self, sources: Sequence[ExampleSource], weights: Sequence[float]):
        if len(sources) != len(weights) or not sources:
            raise ValueError("MixedSource needs one weight per source and at least one source")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"weights must be >= 0 with a positive sum, got {list(weights)}")
        total = float(sum(weights))
        self.sources = list(sources)
        self.weights = [w / total for w in weights]

    def _live(self):
        return [(s, w) for s, w in zip(self.sources, self.weights) if w > 0 and len(s) > 0]

    def __len__(self) -> int:
        live = self._live()
        if not live:
            return 0
        total_w = sum(w for _, w in live)
        # long enough that every source's share holds all of its examples
        return int(max(len(s) * total_w / w for s, w in live) + 0.5)

    def __getitem__(self, i: int) -> Example:
        n = len(self)
        if not 0 <= i < n:
            raise IndexError(f"index {i} out of range for MixedSource of length {n}")
        live = self._live()
        total_w = sum(w for _, w in live)
        start = 0.0
        for k, (src, w) in enumerate(live):
            end = n if k == len(live) - 1 else start + n * w / total_w
            if i < end:
                return src[int(i - start) % len(src)]
            start = end
        raise AssertionError("unreachable")
