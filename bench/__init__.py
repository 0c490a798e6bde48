"""Benchmark figures: each area module exposes `run(quick: bool) -> list[Figure]`.

`python -m dualsync.bench [area ...] [--quick]` runs them and prints min / median / max per figure with the
command that reproduces it. Figures are measured, never asserted by tests.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from typing import Callable


class Unavailable(Exception):
    """An area cannot be measured here (a feature it times is missing): said instead of a number."""


@dataclasses.dataclass
class Figure:
    name: str
    unit: str
    samples: list[float]
    note: str = ""

    def row(self) -> tuple[str, str, str, str, str]:
        s = sorted(self.samples)
        fmt = (lambda v: f"{v:,.2f}") if s and max(s) < 1000 else (lambda v: f"{v:,.0f}")
        return (self.name, fmt(s[0]), fmt(statistics.median(s)), fmt(s[-1]), self.unit + (f"  ({self.note})" if self.note else ""))


def timed(fn: Callable[[], object], repeat: int, *, scale: float = 1000.0) -> list[float]:
    """Wall time of `fn()` per call, `repeat` times, in ms by default."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * scale)
    return out
