"""Scenario files: a scenario is data. The format is documented in suites/scenarios/README.md.

`load` validates a file and raises `ScenarioError` naming the file, line and column, the field, the
problem and the fix; `save` writes a scenario back so that `load(save(s)) == s`. Hand-written
scenarios and the shrunk failures exploration finds are the same format.

The schema lives here, as data: `STEPS` (every step, its scalar shorthand, required fields and the
rule of each field), `TOP`, `SWEEP`, `ID_RULES`. `scenario_checks` applies it; `scenario_yaml` reads
the text strictly (a repeated key is an error, YAML's own complaint is kept).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from dualsync.clients.api import FAULT_POINTS, ROUTES

PATHS = ("supabase", "cloudkit")
ANY = object()  # a field that takes any value


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

# step name -> (shorthand field for the scalar form, required fields, {field: allowed values|type})
_TARGET = {"device": str, "path": PATHS, "match": str, "count": COUNT, "skip": SKIP}
STEPS: dict[str, tuple[str | None, tuple[str, ...], dict[str, Any]]] = {
    "sign_up": ("device", ("device",), {"device": str}),
    "sign_in": ("device", ("device",), {"device": str, "wait": bool, "as": str}),
    "sign_out": ("device", ("device",), {"device": str, "wait": bool, "as": str}),
    "restart": ("device", ("device",), {"device": str}),
    "login_sync": ("device", ("device",), {"device": str, "wait": bool, "as": str}),
    "sync": (None, ("device", "path"), {"device": str, "path": PATHS, "wait": bool, "as": str}),
    "write": (None, ("device", "type", "id", "fields"),
              {"device": str, "type": tuple(ROUTES), "id": str, "fields": dict}),
    "delete": (None, ("device", "type", "id"), {"device": str, "type": tuple(ROUTES), "id": str}),
    "read": (None, ("device", "type", "id"), {"device": str, "type": tuple(ROUTES), "id": str}),
    "hold": (None, ("as",), {**_TARGET, "as": str, "at": ("request", "reply", "commit")}),
    "release": ("names", ("names",), {"names": list}),
    "delay": (None, ("seconds",), {**_TARGET, "seconds": SECONDS}),
    "fail": (None, (), {**_TARGET, "status": Num((int,), 100, 599), "ck_error": str, "ck_item_error": str,
                        "retry_after": SECONDS, "error": ("timeout", "drop")}),
    "lose_reply": (None, (), dict(_TARGET)),
    "crash": (None, ("device", "point"), {"device": str, "point": FAULT_POINTS,
                                          "path": PATHS + ("local",),
                                          "count": COUNT, "skip": SKIP}),
    "disk": (None, ("device", "fault"), {"device": str, "op": ("write", "fsync", "rename"),
                                         "fault": ("io_error", "no_space", "lose_unsynced")}),
    "advance": ("seconds", ("seconds",), {"seconds": SECONDS}),
    "skew": (None, ("device", "seconds"), {"device": str, "seconds": Num()}),
    "probe": (None, ("device", "token"), {"device": str, "path": PATHS,
                                          "token": ("forged", "expired", "other_user")}),
    "corrupt": (None, ("user", "type", "id"), {"user": str, "type": tuple(ROUTES), "id": str,
                                                "backend": PATHS, "at_rest": bool}),
    "delete_zone": ("user", ("user",), {"user": str}),
    "rotate_key": ("user", ("user",), {"user": str, "device": str}),
    "wait": ("names", ("names",), {"names": list}),
    "settle": (None, (), {}),
    "heal": (None, (), {}),
}
TOP = {"id": str, "title": str, "guards": list, "tags": list, "seed": Num((int,), low=0), "users": dict,
       "devices": dict, "steps": list, "expect": dict, "sweep": dict, "liveness_bound": Num(above=0),
       "notes": str, "known": dict}
REQUIRED_TOP = ("id", "guards", "devices", "steps")


SWEEP_KINDS = ("crash", "lose_reply")
SWEEP = {"devices": list, "kinds": list, "from_step": Num((int,), low=0), "expect": dict}
# page_size: rows per Supabase pull page (the client default is 100), so paging can be reached.
DEVICE = {"user": str, "skew": Num(), "page_size": Num(types=(int,), low=1, why="a page holds at least one row")}
# Steps that name a record, and what its id must look like per type: a type that syncs through
# Supabase is a row of a table keyed by uuid; a CloudKit-only type's id is its recordName.
RECORD_STEPS = ("write", "delete", "read", "corrupt")
ID_RULES = {t: "uuid" if "supabase" in paths else "record_name" for t, paths in ROUTES.items()}
# Steps that start a device operation (a task `wait` can name: its `as`, else `op:device[/path]`).
OPERATIONS = ("sign_up", "sign_in", "sign_out", "login_sync", "sync")


class ScenarioError(ValueError):
    """`file:line:col: field: problem; fix`, one line."""

    def __init__(self, source: str, line: int | None, field: str, problem: str, fix: str,
                 col: int | None = None):
        where = source + (f":{line}" if line else "") + (f":{col}" if line and col else "")
        super().__init__(f"{where}: {field}: {problem}; {fix}")
        self.source, self.line, self.col, self.field = source, line, col, field


@dataclasses.dataclass
class Step:
    op: str
    args: dict[str, Any]
    line: int = 0

    def to_data(self) -> Any:
        if not self.args:
            return self.op
        short = STEPS[self.op][0]
        if short and set(self.args) == {short}:
            value = self.args[short]
            return {self.op: value[0] if short == "names" and len(value) == 1 else value}
        return {self.op: dict(self.args)}


@dataclasses.dataclass
class Scenario:
    id: str
    guards: list[str]
    devices: dict[str, dict[str, Any]]
    steps: list[Step]
    title: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)
    seed: int = 0
    users: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    expect: dict[str, Any] = dataclasses.field(default_factory=dict)
    sweep: dict[str, Any] | None = None
    liveness_bound: float = 600.0
    notes: str = ""
    known: dict[str, str] = dataclasses.field(default_factory=dict)  # client -> open finding
    source: str = "<scenario>"
    id_at: tuple[int, int] = (0, 0)  # line, column of the id in its file (0: not from a file)

    def expected_for(self, client: str) -> str | list[str] | None:
        """"pass", the invariants that must be violated, or None when the file says nothing."""
        if client in self.expect:
            return self.expect[client]
        return self.expect.get("mutant:*") if client.startswith("mutant:") else None

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        for name in ("title", "guards", "tags", "seed", "users", "devices", "expect", "known",
                     "sweep", "liveness_bound", "notes"):
            value = getattr(self, name)
            if value not in (None, "", [], {}) and not (name == "liveness_bound" and value == 600.0):
                out[name] = value
        out["steps"] = [s.to_data() for s in self.steps]
        return out


def load(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text()
    except IsADirectoryError:
        raise ScenarioError(str(path), None, "file", "is a directory", "give a scenario file (*.yaml)") from None
    except FileNotFoundError:
        raise ScenarioError(str(path), None, "file", "no such file", "check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), None, "file", f"cannot be read ({exc})", "give a readable UTF-8 file") from None
    return loads(text, source=str(path))


def loads(text: str, source: str = "<scenario>") -> Scenario:
    from dualsync.harness import scenario_checks
    return Scenario(**scenario_checks.build(text, source), source=source)


def load_all(paths: list[str | Path]) -> list[Scenario]:
    """Load every file, refusing two that share an id (they would share one report)."""
    out, first = [], {}
    for path in paths:
        scenario = load(path)
        if scenario.id in first:
            raise ScenarioError(scenario.source, scenario.id_at[0], "id",
                                f"{scenario.id!r} is also the id of {first[scenario.id]}",
                                "give each scenario its own id (reports are named by it)", scenario.id_at[1])
        first[scenario.id] = scenario.source
        out.append(scenario)
    return out


def save(scenario: Scenario, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(dumps(scenario))
    return path


def dumps(scenario: Scenario) -> str:
    return yaml.safe_dump(scenario.to_data(), sort_keys=False, default_flow_style=None, width=100)
