"""Clocks the fake reads time from. Nothing in the fake reads wall time except `WallClock`.

The harness owns one virtual clock and passes it in; anything with `now() -> seconds since the
epoch` (or a bare callable returning that) works. `advance`/`set` are optional: the control
plane's clock operations use them when present and say so clearly when absent.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol, Union


class Clock(Protocol):
    def now(self) -> float: ...


class VirtualClock:
    """Time that moves only when told to (the default for in-process use)."""

    def __init__(self, start: float = 1_767_225_600.0):  # 2026-01-01T00:00:00Z
        self._t = float(start)

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"cannot advance a clock by a negative amount ({seconds})")
        self._t += seconds
        return self._t

    def set(self, t: float) -> float:
        self._t = float(t)
        return self._t


class WallClock:
    """Real time plus an offset: the standalone server's default, for external clients."""

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


def as_clock(obj: Union[Clock, Callable[[], float], None]) -> Clock:
    """Accept a clock object, a callable returning seconds, or None (a fresh VirtualClock)."""
    if obj is None:
        return VirtualClock()
    if hasattr(obj, "now"):
        return obj  # type: ignore[return-value]
    if callable(obj):
        return _CallableClock(obj)
    raise TypeError(f"clock must have now() or be callable, got {type(obj).__name__}")
