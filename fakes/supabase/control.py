"""The control plane: clock, faults and held transactions, as plain calls.

In-process code (the harness) calls these directly; out-of-process users reach the same methods
under the reserved `/__dualsync/` prefix (see `app.py`). Nothing here sleeps: a held request waits
on an event that only `release` sets.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
from typing import Awaitable, Callable

from .db import RequestInfo
from .tokens import Clock, real_clock

ACTIONS = ("fail", "hold", "fail_after_commit")


class ControlError(ValueError):
    """A malformed control call; the message names the field and what is allowed."""


@dataclasses.dataclass
class Fault:
    id: int
    action: str
    method: str = "*"
    path: str = ""          # prefix of the request path, e.g. "/rest/v1/daily_logs"
    status: int = 503
    times: int | None = 1   # None: every matching request

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and path.startswith(self.path) and self.times != 0

    def consume(self) -> None:
        if self.times is not None:
            self.times -= 1

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class ServerClock:
    """The gateway's clock as datetimes: an injected source of time (the World's virtual clock, or
    wall time standalone), optionally pinned or shifted by control calls."""

    def __init__(self, source: Clock | None):
        self.source = source or real_clock
        self.injected = source is not None
        self.pinned: dt.datetime | None = None
        self.offset = dt.timedelta()

    def now(self) -> dt.datetime:
        base = self.pinned if self.pinned is not None else self.source()
        return base + self.offset

    def set(self, when: dt.datetime | None) -> None:
        if when is not None and when.tzinfo is None:
            raise ControlError(f"clock time {when.isoformat()} has no timezone; send an aware time such as ...Z")
        self.pinned, self.offset = when, dt.timedelta()
        self.injected = self.injected or when is not None

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)
        self.injected = True


@dataclasses.dataclass
class Held:
    info: RequestInfo
    released: asyncio.Event


class Control:
    def __init__(self, clock: ServerClock, reset_database: Callable[[], Awaitable[None]]):
        self.clock = clock
        self._reset_database = reset_database
        self.faults: list[Fault] = []
        self.held: dict[int, Held] = {}
        self._ids = itertools.count(1)

    async def reset(self) -> None:
        """Drop every fault, let every held request commit, then empty the app and auth tables."""
        self.clear_faults()
        for _ in range(1000):               # held transactions finish on this loop before TRUNCATE
            if not self.held:
                break
            await asyncio.sleep(0)
        await self._reset_database()

    def set_clock(self, when: dt.datetime | None) -> None:
        self.clock.set(when)

    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def add_fault(self, action: str, *, method: str = "*", path: str = "", status: int = 503,
                  times: int | None = 1) -> Fault:
        if action not in ACTIONS:
            raise ControlError(f"unknown fault action {action!r}; use one of {', '.join(ACTIONS)}")
        if not (isinstance(status, int) and 100 <= status <= 599):
            raise ControlError(f"fault status {status!r} is not an HTTP status (100-599)")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise ControlError(f"fault times {times!r} must be a positive integer or null (always)")
        fault = Fault(next(self._ids), action, method.upper(), path, status, times)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()
        for held in list(self.held.values()):
            held.released.set()

    def take_fault(self, method: str, path: str, actions: tuple[str, ...]) -> Fault | None:
        for fault in self.faults:
            if fault.action in actions and fault.matches(method, path):
                fault.consume()
                return fault
        return None

    async def hold(self, info: RequestInfo) -> None:
        """Park a transaction after its statements ran, before COMMIT, until `release(info.seq)`."""
        held = self.held[info.seq] = Held(info, asyncio.Event())
        try:
            await held.released.wait()
        finally:
            self.held.pop(info.seq, None)

    def release(self, seq: int) -> None:
        held = self.held.get(seq)
        if held is None:
            raise ControlError(f"no held request {seq}; held now: {sorted(self.held) or 'none'}")
        held.released.set()

    def held_requests(self) -> list[dict]:
        return [dataclasses.asdict(h.info) for h in self.held.values()]
