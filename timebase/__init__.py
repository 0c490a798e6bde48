"""Time, as every layer of dualsync reads it: one virtual clock, a device's skewed view of it, and
the wall clock for servers people talk to. Nothing here sleeps for real: a wait advances virtual
time, and whatever was scheduled for that moment (a delayed request) fires.

`dualsync.timebase` is at the bottom of the layers: the fakes, the clients and the harness all use
it, and it imports none of them.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Any, Callable

EPOCH_2026 = 1_767_225_600.0  # 2026-01-01T00:00:00Z: far from the real now, so a leak of wall time shows


class VirtualClock:
    """Epoch seconds that move only when told to; timers fire as time passes them."""

    def __init__(self, start: float = EPOCH_2026):
        self._now = float(start)
        self.start = float(start)
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()  # ties fire in the order they were scheduled

    def now(self) -> float:
        return self._now

    def elapsed(self) -> float:
        return self._now - self.start

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"virtual time cannot go back: advance({seconds})")
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, fire = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            fire()
        self._now = target
        return self._now

    def set(self, t: float) -> float:
        """Jump to `t` (a control-plane operation; forward or back, timers untouched)."""
        self._now = float(t)
        return self._now

    async def sleep(self, seconds: float) -> None:
        """A client's wait (retryAfter, backoff): time moves on, other tasks still interleave."""
        self.advance(max(0.0, float(seconds)))
        await asyncio.sleep(0)

    def call_later(self, seconds: float, fire: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (self._now + max(0.0, seconds), next(self._seq), fire))

    def next_timer(self) -> float | None:
        return self._timers[0][0] if self._timers else None


class SkewedClock:
    """One device's view of a base clock: the same time plus a skew (seconds, may be negative)."""

    def __init__(self, base: Any, skew: float = 0.0):
        self.base = base
        self.skew = float(skew)

    def now(self) -> float:
        value = self.base.now()
        return (value.timestamp() if hasattr(value, "timestamp") else float(value)) + self.skew

    async def sleep(self, seconds: float) -> None:
        sleeper = getattr(self.base, "sleep", None)
        if sleeper is None:
            await asyncio.sleep(0)
        else:
            await sleeper(seconds)


class WallClock:
    """Real time plus an offset: the standalone servers' default, for clients in other processes."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"cannot advance a clock by a negative amount ({seconds})")
        self._offset += seconds
        return self.now()

    def set(self, t: float) -> float:
        self._offset = float(t) - time.time()
        return self.now()


class _CallableClock:
    def __init__(self, fn: Callable[[], float]):
        self._fn = fn

    def now(self) -> float:
        return float(self._fn())


def as_clock(obj: Any, *, sleeps: bool = True) -> Any:
    """A clock object (with now()), a bare callable returning epoch seconds, or None (a fresh
    VirtualClock). With `sleeps` (a client waits on it), a clock without sleep() gets one through
    SkewedClock; without, a clock object is used as it is (a backend may advance or set it)."""
    if obj is None:
        return VirtualClock()
    if hasattr(obj, "now"):
        return obj if hasattr(obj, "sleep") or not sleeps else SkewedClock(obj)
    if callable(obj):
        return SkewedClock(_CallableClock(obj))
    raise TypeError(f"a clock must have now() or be a callable returning epoch seconds, got {obj!r}")


__all__ = ["EPOCH_2026", "SkewedClock", "VirtualClock", "WallClock", "as_clock"]
