"""Clocks the fake reads time from (dualsync's one clock, `dualsync.timebase`). Nothing in the fake
reads wall time except `WallClock`.

The harness owns one virtual clock and passes it in; anything with `now() -> seconds since the
epoch` (or a bare callable returning that) works. `advance`/`set` are optional: the control
plane's clock operations use them when present and say so clearly when absent.
"""

from __future__ import annotations

from typing import Protocol

from dualsync.timebase import VirtualClock, WallClock, as_clock


class Clock(Protocol):
    def now(self) -> float: ...


__all__ = ["Clock", "VirtualClock", "WallClock", "as_clock"]
