"""The step vocabulary, in one table: every step a scenario file, the exploration or a test can ask
of a World, with its schema (scalar shorthand, required fields, the rule of each field) and what
it does to the World. The scenario format (`scenario.py`), its checks, the runner and the
exploration's driver all read this table; a new step is one entry here.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Awaitable, Callable

from dualsync import apps
from dualsync.clients.api import DISK_FAULTS, FAULT_POINTS

PATHS = apps.BACKENDS


class StepError(RuntimeError):
    """A step could not be carried out as written (not a finding about the client)."""


@dataclasses.dataclass(frozen=True)
class Num:
    """A number field: its types and bounds (finite always; `above` is an exclusive lower bound)."""
    types: tuple[type, ...] = (int, float)
    low: float | None = None
    high: float | None = None
    above: float | None = None
    refused: tuple[Any, ...] = ()
    why: str = ""


SECONDS = Num(low=0, why="time only moves forward")
COUNT = Num((int,), low=-1, refused=(0,), why="-1 applies to every match, n >= 1 to the first n")
SKIP = Num((int,), low=0)
_TARGET = {"device": str, "path": PATHS, "match": str, "count": COUNT, "skip": SKIP}
_STARTED = {"wait": bool, "as": str}  # an operation may run in the background under a name


@dataclasses.dataclass(frozen=True)
class StepType:
    short: str | None                 # the field the scalar form (`sign_in: A`) fills
    required: tuple[str, ...]
    fields: dict[str, Any]            # field -> type, tuple of allowed values, or Num
    run: Callable[[Any, dict[str, Any]], Awaitable[None] | None]  # (world, args)
    kind: str = "environment"         # operation | record | decision | environment

    @property
    def operation(self) -> bool:
        """It starts a device operation, which `wait` can name (its `as`, else `op:device[/path]`)."""
        return self.kind == "operation"


def _started(f: Callable) -> Callable:
    """An operation step: its `wait` and `as` become the World call's keywords."""
    def run(world, a):
        a = dict(a)
        return f(world, a, wait=a.pop("wait", True), name=a.pop("as", None))
    return run


def _decision(op: str) -> Callable:
    return lambda world, a: world.decide(op, **a)


STEP_TYPES: dict[str, StepType] = {
    "sign_up": StepType("device", ("device",), {"device": str},
                        _started(lambda w, a, **kw: w.sign_in(a["device"], **kw)), "operation"),
    "sign_in": StepType("device", ("device",), {"device": str, **_STARTED},
                        _started(lambda w, a, **kw: w.sign_in(a["device"], **kw)), "operation"),
    "sign_out": StepType("device", ("device",), {"device": str, **_STARTED},
                         _started(lambda w, a, **kw: w.sign_out(a["device"], **kw)), "operation"),
    "login_sync": StepType("device", ("device",), {"device": str, **_STARTED},
                           _started(lambda w, a, **kw: w.login_sync(a["device"], **kw)), "operation"),
    "sync": StepType(None, ("device", "path"), {"device": str, "path": PATHS, **_STARTED},
                     _started(lambda w, a, **kw: w.sync(a["device"], a["path"], **kw)), "operation"),
    "restart": StepType("device", ("device",), {"device": str}, lambda w, a: w.restart(a["device"])),
    "write": StepType(None, ("device", "type", "id", "fields"),
                      {"device": str, "type": str, "id": str, "fields": dict},
                      lambda w, a: w.write(a["device"], a["type"], a["id"], a["fields"]), "record"),
    "delete": StepType(None, ("device", "type", "id"), {"device": str, "type": str, "id": str},
                       lambda w, a: w.write(a["device"], a["type"], a["id"], None), "record"),
    "read": StepType(None, ("device", "type", "id"), {"device": str, "type": str, "id": str},
                     lambda w, a: w.read(a["device"], a["type"], a["id"]), "record"),
    "hold": StepType(None, ("as",), {**_TARGET, "as": str, "at": ("request", "reply", "commit")},
                     _decision("hold"), "decision"),
    "release": StepType("names", ("names",), {"names": list}, lambda w, a: w.release(*a["names"])),
    "delay": StepType(None, ("seconds",), {**_TARGET, "seconds": SECONDS}, _decision("delay"), "decision"),
    "fail": StepType(None, (), {**_TARGET, "status": Num((int,), 100, 599), "ck_error": str,
                                "ck_item_error": str, "mixed": bool, "retry_after": SECONDS,
                                "error": ("timeout", "drop")},
                     _decision("fail"), "decision"),
    "lose_reply": StepType(None, (), dict(_TARGET), _decision("lose_reply"), "decision"),
    "crash": StepType(None, ("device", "point"), {"device": str, "point": FAULT_POINTS, "path": PATHS + ("local",),
                                                  "count": COUNT, "skip": SKIP},
                      _decision("crash"), "decision"),
    "disk": StepType(None, ("device", "fault"), {"device": str, "op": ("write", "fsync", "rename"),
                                                 "fault": DISK_FAULTS},
                     lambda w, a: w.disk_fault(a["device"], a["fault"], a.get("op", "write"))),
    "advance": StepType("seconds", ("seconds",), {"seconds": SECONDS}, lambda w, a: w.advance(float(a["seconds"]))),
    "skew": StepType(None, ("device", "seconds"), {"device": str, "seconds": Num()},
                     lambda w, a: w.skew(a["device"], a["seconds"])),
    "probe": StepType(None, ("device", "token"), {"device": str, "path": PATHS,
                                                  "token": ("forged", "expired", "other_user")},
                      lambda w, a: w.probe(a["device"], a["token"], a.get("path", "supabase"))),
    "corrupt": StepType(None, ("user", "type", "id"), {"user": str, "type": str, "id": str,
                                                        "backend": PATHS, "at_rest": bool},
                        lambda w, a: w.corrupt(a["user"], a["type"], a["id"], a.get("backend"),
                                               a.get("at_rest", False)), "record"),
    "delete_zone": StepType("user", ("user",), {"user": str}, lambda w, a: w.delete_zone(a["user"])),
    "rotate_key": StepType("user", ("user",), {"user": str, "device": str},
                           lambda w, a: w.rotate_key(a["user"], a.get("device"))),
    "wait": StepType("names", ("names",), {"names": list}, lambda w, a: w.wait(*a["names"])),
    "settle": StepType(None, (), {}, lambda w, a: w.settle()),
    "heal": StepType(None, (), {}, lambda w, a: w.heal()),
}

RECORD_STEPS = tuple(n for n, t in STEP_TYPES.items() if t.kind == "record")  # steps that name a record
OPERATIONS = tuple(n for n, t in STEP_TYPES.items() if t.operation)


async def perform(world: Any, op: str, args: dict[str, Any]) -> None:
    """Carry out one step on a World."""
    result = STEP_TYPES[op].run(world, args)
    if result is not None and hasattr(result, "__await__"):
        await result
