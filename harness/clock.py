"""The World's one virtual clock. Nothing sleeps for real: a wait advances time, and whatever
the Conductor scheduled for that moment (a delayed request) becomes due."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Callable

EPOCH_2026 = 1_767_225_600.0  # 2026-01-01T00:00:00Z: far from the real now, so leaks show


class VirtualClock:
    def __init__(self, start: float = EPOCH_2026):
        self._now = float(start)
        self.start = float(start)
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()  # ties fire in the order they were scheduled

    def now(self) -> float:
        return self._now

    def elapsed(self) -> float:
        return self._now - self.start

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"virtual time cannot go back: advance({seconds})")
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, fire = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            fire()
        self._now = target

    async def sleep(self, seconds: float) -> None:
        """A client's wait (retryAfter, backoff): time moves on, other tasks still interleave."""
        self.advance(max(0.0, float(seconds)))
        await asyncio.sleep(0)

    def call_later(self, seconds: float, fire: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (self._now + max(0.0, seconds), next(self._seq), fire))

    def next_timer(self) -> float | None:
        return self._timers[0][0] if self._timers else None


class SkewedClock:
    """One device's view of the World clock: same time plus a skew a scenario may change."""

    def __init__(self, base: VirtualClock, skew: float = 0.0):
        self.base = base
        self.skew = float(skew)

    def now(self) -> float:
        return self.base.now() + self.skew

    async def sleep(self, seconds: float) -> None:
        await self.base.sleep(seconds)
