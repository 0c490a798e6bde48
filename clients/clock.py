"""Per-device time. Nothing in the clients reads the wall clock or sleeps for real.

A device clock is the World's clock plus a skew the scenario chooses; waiting (a `retryAfter`, a
backoff) goes through `sleep`, which the World turns into an advance of virtual time.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable


class ManualClock:
    """A virtual clock in epoch seconds; `sleep` advances it instead of waiting."""

    def __init__(self, start: float = 1_767_225_600.0):  # 2026-01-01T00:00:00Z
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back: advance({seconds})")
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)  # still yield, so other tasks of the device interleave


class DeviceClock:
    """One device's view of time: a base clock plus a skew (seconds, may be negative)."""

    def __init__(self, base: Any, skew: float = 0.0):
        self.base = base
        self.skew = float(skew)

    def now(self) -> float:
        return _read(self.base) + self.skew

    async def sleep(self, seconds: float) -> None:
        sleeper = getattr(self.base, "sleep", None)
        if sleeper is None:
            await asyncio.sleep(0)
        else:
            await sleeper(seconds)


def as_clock(clock: Any) -> Any:
    """Accept a clock object (now/sleep), a bare callable returning seconds, or None."""
    if clock is None:
        return ManualClock()
    if hasattr(clock, "now"):
        return clock if hasattr(clock, "sleep") else DeviceClock(clock)
    if callable(clock):
        return DeviceClock(_CallableClock(clock))
    raise TypeError(f"clock must have now() or be a callable returning epoch seconds, got {clock!r}")


class _CallableClock:
    def __init__(self, fn: Callable[[], float]):
        self.now = fn


def _read(base: Any) -> float:
    value = base.now()
    return value.timestamp() if hasattr(value, "timestamp") else float(value)
