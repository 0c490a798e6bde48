"""Request-level faults the control plane queues and the wire layer consumes.

A fault matches an operation (e.g. "records/modify", or any) and optionally a user, and fires a
number of times. Model-level faults (a user deleting a zone, expiring tokens) are plain model
calls instead, since they change state rather than one reply.
"""

from __future__ import annotations

import dataclasses
import itertools

from .errors import STATUS

KINDS = ("throttle", "try_again_later", "zone_busy", "error", "delay", "drop", "lose_reply")
_ERROR_OF = {"throttle": "THROTTLED", "try_again_later": "TRY_AGAIN_LATER", "zone_busy": "ZONE_BUSY"}


@dataclasses.dataclass
class Fault:
    kind: str
    op: str | None = None           # "records/modify", "changes/zone", ... ; None = any operation
    user: str | None = None         # a user id; None = any user
    times: int | None = 1           # None = until cleared
    retry_after: float | None = None
    seconds: float = 0.0            # for delay: virtual seconds added before the operation runs
    code: str | None = None         # for error: the serverErrorCode
    reason: str = "injected fault"
    id: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose from {', '.join(KINDS)}")
        if self.kind in _ERROR_OF:
            self.code = _ERROR_OF[self.kind]
            self.retry_after = 1.0 if self.retry_after is None else self.retry_after
        if self.kind == "error" and self.code not in STATUS:
            raise ValueError(f"error fault needs a known serverErrorCode, got {self.code!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for until cleared)")
        if self.seconds < 0:
            raise ValueError("delay seconds must not be negative")

    @property
    def is_error(self) -> bool:
        return self.code is not None and self.kind not in ("delay", "drop", "lose_reply")

    def matches(self, op: str, user: str | None) -> bool:
        return (self.op is None or self.op == op) and (self.user is None or self.user == user)


class FaultPlan:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self.fired: list[tuple[int, str, str]] = []   # (fault id, kind, op): what actually fired

    def add(self, fault: Fault) -> Fault:
        fault.id = next(self._ids)
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()
        self.fired.clear()

    def pending(self) -> list[Fault]:
        return list(self._faults)

    def take(self, op: str, user: str | None) -> Fault | None:
        for f in self._faults:
            if f.matches(op, user):
                if f.times is not None:
                    f.times -= 1
                    if f.times == 0:
                        self._faults.remove(f)
                self.fired.append((f.id, f.kind, op))
                return f
        return None
