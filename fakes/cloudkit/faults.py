"""Faults the control plane queues: request-level ones the wire layer consumes, and per-record ones
records/modify consumes (`RecordFault`).

A fault matches an operation (e.g. "records/modify", or any) and optionally a user, and fires a
number of times. Model-level faults (a user deleting a zone, expiring tokens) are plain model
calls instead, since they change state rather than one reply.
"""

from __future__ import annotations

import dataclasses
import itertools

from .errors import RETRYABLE, STATUS, CloudKitError
from .modify import OP_TYPES
from .records import check_record_name

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


class _Queue:
    """Queued faults with ids, and what fired: (fault id, kind or code, op or recordName)."""

    def __init__(self) -> None:
        self._faults: list = []
        self._ids = itertools.count(1)
        self.fired: list[tuple[int, str, str]] = []

    def add(self, fault):
        fault.id = next(self._ids)
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()
        self.fired.clear()

    def pending(self) -> list:
        return list(self._faults)

    def _fire(self, matches, label, target: str):
        """The first queued fault `matches` accepts: counted down (dropped at its last firing) and
        recorded in `fired` as (id, label(fault), target); None when none matches."""
        for f in self._faults:
            if matches(f):
                if f.times is not None:
                    f.times -= 1
                    if f.times == 0:
                        self._faults.remove(f)
                self.fired.append((f.id, label(f), target))
                return f
        return None


class FaultPlan(_Queue):
    """Request-level faults; `fired` holds (fault id, kind, op)."""

    def take(self, op: str, user: str | None) -> Fault | None:
        return self._fire(lambda f: f.matches(op, user), lambda f: f.kind, op)


# Per-record faults: one named record's operation in records/modify fails with a serverErrorCode
# inside a 200, the rest of the batch proceeding (or, in an atomic zone batch, everything failing
# with ATOMIC_ERROR beside the culprit's own error), as CloudKit reports per-record failures.
# Codes a per-record result can carry (the authentication codes and ATOMIC_ERROR, which marks the
# other records of an atomic batch, cannot; NOT_IMPLEMENTED is the fake's own).
RECORD_CODES = tuple(sorted(set(STATUS) - {"AUTHENTICATION_FAILED", "AUTHENTICATION_REQUIRED", "ATOMIC_ERROR",
                                           "NOT_IMPLEMENTED"}))


@dataclasses.dataclass
class RecordFault:
    record: str                     # the recordName
    code: str                       # the per-record serverErrorCode
    zone: str = "_defaultZone"
    operation: str | None = None    # an operationType (create, update, ...); None = any
    user: str | None = None         # a user id; None = any user
    env: str | None = None          # development / production; None = either
    times: int | None = 1           # None = until cleared
    retry_after: float | None = None
    reason: str = "injected per-record fault"
    id: int = 0

    def __post_init__(self) -> None:
        if self.code not in RECORD_CODES:
            raise ValueError(f"code: unknown per-record serverErrorCode {str(self.code)[:40]!r}; "
                             f"choose from {', '.join(RECORD_CODES)}")
        try:
            check_record_name(self.record, "record")
            if self.zone != "_defaultZone":
                check_record_name(self.zone, "zone")
        except CloudKitError as exc:
            raise ValueError(exc.reason) from None
        if self.operation is not None and self.operation not in OP_TYPES:
            raise ValueError(f"operation: unknown operationType {str(self.operation)[:40]!r}; "
                             f"choose from {', '.join(OP_TYPES)} (or leave it out for any)")
        for what, value in (("user", self.user), ("env", self.env), ("reason", self.reason)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{what} must be a string")
        if self.times is not None and (isinstance(self.times, bool) or not isinstance(self.times, int)
                                       or self.times < 1):
            raise ValueError("times must be a whole number of at least 1 (or null for until cleared)")
        if self.retry_after is not None and (isinstance(self.retry_after, bool)
                                             or not isinstance(self.retry_after, (int, float)) or self.retry_after < 0):
            raise ValueError("retryAfter must be a number of seconds, at least 0")
        if self.retry_after is None and self.code in RETRYABLE:
            self.retry_after = 1.0

    def matches(self, user: str | None, env: str, zone: str, record: str, operation: str) -> bool:
        return (self.record == record and self.zone == zone and self.operation in (None, operation)
                and self.user in (None, user) and self.env in (None, env))


class RecordFaultPlan(_Queue):
    """Per-record faults; `fired` holds (fault id, code, recordName)."""

    def take(self, user: str | None, env: str, zone: str, record: str, operation: str) -> RecordFault | None:
        return self._fire(lambda f: f.matches(user, env, zone, record, operation), lambda f: f.code, record)
