"""Scenario files: a scenario is data. The format is documented in suites/scenarios/README.md.

`load` validates a file and raises `ScenarioError` naming the file, the line, the field and the
fix; `save` writes a scenario back so that `load(save(s)) == s`. Hand-written scenarios and the
shrunk failures exploration finds are the same format.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from dualsync import apps
from dualsync.clients.api import FAULT_POINTS
from dualsync.harness.checkers.verdict import INVARIANTS

PATHS = apps.BACKENDS
ANY = object()  # a field that takes any value

# step name -> (shorthand field for the scalar form, required fields, {field: allowed values|type})
_TARGET = {"device": str, "path": PATHS, "match": str, "count": int, "skip": int}
STEPS: dict[str, tuple[str | None, tuple[str, ...], dict[str, Any]]] = {
    "sign_up": ("device", ("device",), {"device": str}),
    "sign_in": ("device", ("device",), {"device": str, "wait": bool, "as": str}),
    "sign_out": ("device", ("device",), {"device": str, "wait": bool, "as": str}),
    "restart": ("device", ("device",), {"device": str}),
    "login_sync": ("device", ("device",), {"device": str, "wait": bool, "as": str}),
    "sync": (None, ("device", "path"), {"device": str, "path": PATHS, "wait": bool, "as": str}),
    "write": (None, ("device", "type", "id", "fields"),
              {"device": str, "type": str, "id": str, "fields": dict}),
    "delete": (None, ("device", "type", "id"), {"device": str, "type": str, "id": str}),
    "read": (None, ("device", "type", "id"), {"device": str, "type": str, "id": str}),
    "hold": (None, ("as",), {**_TARGET, "as": str, "at": ("request", "reply", "commit")}),
    "release": ("names", ("names",), {"names": list}),
    "delay": (None, ("seconds",), {**_TARGET, "seconds": (int, float)}),
    "fail": (None, (), {**_TARGET, "status": int, "ck_error": str, "ck_item_error": str,
                        "retry_after": (int, float), "error": ("timeout", "drop")}),
    "lose_reply": (None, (), dict(_TARGET)),
    "crash": (None, ("device", "point"), {"device": str, "point": FAULT_POINTS,
                                          "path": PATHS + ("local",),
                                          "count": int, "skip": int}),
    "disk": (None, ("device", "fault"), {"device": str, "op": ("write", "fsync", "rename"),
                                         "fault": ("io_error", "no_space", "lose_unsynced")}),
    "advance": ("seconds", ("seconds",), {"seconds": (int, float)}),
    "skew": (None, ("device", "seconds"), {"device": str, "seconds": (int, float)}),
    "probe": (None, ("device", "token"), {"device": str, "path": PATHS,
                                          "token": ("forged", "expired", "other_user")}),
    "corrupt": (None, ("user", "type", "id"), {"user": str, "type": str, "id": str,
                                                "backend": PATHS, "at_rest": bool}),
    "delete_zone": ("user", ("user",), {"user": str}),
    "rotate_key": ("user", ("user",), {"user": str, "device": str}),
    "wait": ("names", ("names",), {"names": list}),
    "settle": (None, (), {}),
    "heal": (None, (), {}),
}
TOP = {"id": str, "title": str, "guards": list, "tags": list, "seed": int, "users": dict,
       "devices": dict, "steps": list, "expect": dict, "sweep": dict, "liveness_bound": (int, float),
       "notes": str, "known": dict, "app": str}
REQUIRED_TOP = ("id", "guards", "devices", "steps")


class ScenarioError(ValueError):
    def __init__(self, source: str, line: int | None, field: str, problem: str, fix: str):
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {field}: {problem}; {fix}")
        self.source, self.line, self.field = source, line, field


@dataclasses.dataclass
class Step:
    op: str
    args: dict[str, Any]
    line: int = 0
    index: int = dataclasses.field(default=0, compare=False)

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
    app: str = ""  # the app profile its record types come from ("": the default)
    source: str = "<scenario>"

    def expected_for(self, client: str) -> str | list[str] | None:
        """"pass", the invariants that must be violated, or None when the file says nothing."""
        if client in self.expect:
            return self.expect[client]
        return self.expect.get("mutant:*") if client.startswith("mutant:") else None

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        for name in ("title", "app", "guards", "tags", "seed", "users", "devices", "expect", "known",
                     "sweep", "liveness_bound", "notes"):
            value = getattr(self, name)
            if value not in (None, "", [], {}) and not (name == "liveness_bound" and value == 600.0):
                out[name] = value
        out["steps"] = [s.to_data() for s in self.steps]
        return out


def load(path: str | Path) -> Scenario:
    path = Path(path)
    return loads(path.read_text(), source=str(path))


def loads(text: str, source: str = "<scenario>") -> Scenario:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(source, mark.line + 1 if mark else None, "yaml", str(exc).split("\n")[0],
                            "fix the YAML syntax") from None
    lines = _lines(node)
    if not isinstance(data, dict):
        raise ScenarioError(source, 1, "file", "is not a mapping", "start with `id: ...`")
    return _build(data, lines, source)


def save(scenario: Scenario, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(dumps(scenario))
    return path


def dumps(scenario: Scenario) -> str:
    return yaml.safe_dump(scenario.to_data(), sort_keys=False, default_flow_style=None, width=100)


def _build(data: dict, lines: dict[tuple, int], source: str) -> Scenario:
    def err(path: tuple, problem: str, fix: str):
        return ScenarioError(source, lines.get(path) or lines.get(path[:1]), ".".join(map(str, path)),
                             problem, fix)

    for name in data:
        if name not in TOP:
            raise err((name,), "unknown field", f"use one of {', '.join(TOP)}")
        _check_type(data[name], TOP[name], (name,), err)
    for name in REQUIRED_TOP:
        if name not in data:
            raise err((name,), "missing", f"every scenario needs {', '.join(REQUIRED_TOP)}")
    devices = _devices(data, err)
    try:
        app = apps.load(data.get("app") or None)
    except apps.AppError as exc:
        raise err(("app",), str(exc), "name a shipped app profile or a profile file") from None
    steps = [_step(raw, i, devices, data, lines, err) for i, raw in enumerate(data["steps"])]
    for step in steps:
        _check_record(step, app, err)
    _check_guards(data, err)
    _check_expect(data.get("expect", {}), err)
    return Scenario(id=str(data["id"]), guards=list(data["guards"]), devices=devices, steps=steps,
                    title=data.get("title", ""), tags=list(data.get("tags", [])),
                    seed=data.get("seed", 0), users=data.get("users") or {},
                    expect=data.get("expect") or {}, sweep=data.get("sweep"),
                    liveness_bound=float(data.get("liveness_bound", 600.0)),
                    notes=data.get("notes", ""), known=dict(data.get("known") or {}),
                    app=data.get("app", ""), source=source)


def _check_record(step: Step, app: apps.App, err) -> None:
    """A step's record type must be one of the app's."""
    if "type" not in step.args:
        return
    at = ("steps", step.index, step.op)
    if step.args["type"] not in app.record_types:
        raise err(at + ("type",), f"app {app.name!r} has no record type {step.args['type']!r}",
                  f"use one of {', '.join(app.record_types)}")


def _devices(data: dict, err) -> dict[str, dict[str, Any]]:
    out = {}
    for name, spec in data["devices"].items():
        if not isinstance(spec, dict) or "user" not in spec:
            raise err(("devices", name), "needs a user", f"write `{name}: {{user: alice}}`")
        extra = set(spec) - {"user", "skew"}
        if extra:
            raise err(("devices", name), f"unknown field(s) {', '.join(sorted(extra))}",
                      "a device takes user and skew (seconds)")
        out[str(name)] = {"user": str(spec["user"]), "skew": float(spec.get("skew", 0))}
    return out


def _step(raw: Any, i: int, devices: dict, data: dict, lines: dict, err) -> Step:
    path = ("steps", i)
    op, value = (raw, None) if isinstance(raw, str) else (
        next(iter(raw.items())) if isinstance(raw, dict) and len(raw) == 1 else (None, None))
    if op not in STEPS:
        raise err(path, f"unknown step {raw!r}" if op else "a step is one `name: arguments` pair",
                  f"use one of {', '.join(STEPS)}")
    short, required, fields = STEPS[op]
    args = dict(value) if isinstance(value, dict) else ({short: value} if value is not None else {})
    if short == "names" and short in args and not isinstance(args[short], list):
        args[short] = [args[short]]
    for name, v in args.items():
        if name not in fields:
            raise err(path + (op, name), "unknown argument", f"{op} takes {', '.join(fields) or 'nothing'}")
        _check_type(v, fields[name], path + (op, name), err)
    for name in required:
        if name not in args:
            raise err(path + (op,), f"missing {name}", f"{op} needs {', '.join(required)}")
    if "device" in args and args["device"] not in devices:
        raise err(path + (op, "device"), f"no device {args['device']!r}",
                  f"declare it under devices (known: {', '.join(devices)})")
    if op == "fail" and not {"status", "ck_error", "ck_item_error", "error"} & set(args):
        raise err(path + (op,), "says nothing about how to fail",
                  "give status, ck_error, ck_item_error or error")
    return Step(op, args, lines.get(path, 0), i)


def _check_type(value: Any, rule: Any, path: tuple, err) -> None:
    if rule is ANY:
        return
    if isinstance(rule, tuple) and all(isinstance(r, str) for r in rule):
        if value not in rule:
            raise err(path, f"{value!r} is not allowed", f"use one of {', '.join(rule)}")
        return
    types = rule if isinstance(rule, tuple) else (rule,)
    if isinstance(value, bool) and bool not in types or not isinstance(value, types):
        names = " or ".join(t.__name__ for t in types)
        raise err(path, f"expected {names}, got {type(value).__name__} {value!r}", f"write a {names}")


def _check_guards(data: dict, err) -> None:
    for i, g in enumerate(data["guards"]):
        if g not in INVARIANTS:
            raise err(("guards", i), f"unknown invariant {g!r}", f"use one of {', '.join(INVARIANTS)}")
    if not data["guards"]:
        raise err(("guards",), "is empty", "name the invariant(s) this scenario guards")


def _check_expect(expect: dict, err) -> None:
    for client, want in expect.items():
        if want == "pass":
            continue
        if not isinstance(want, list) or not want or any(w not in INVARIANTS for w in want):
            raise err(("expect", client), f"{want!r} is not an expected verdict",
                      "write `pass`, or the list of invariants that must be violated")


def _lines(node: yaml.Node | None, path: tuple = ()) -> dict[tuple, int]:
    """1-based line of every mapping key and sequence item, by its path in the data."""
    out: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            out[path + (k.value,)] = k.start_mark.line + 1
            out.update(_lines(v, path + (k.value,)))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out[path + (i,)] = v.start_mark.line + 1
            out.update(_lines(v, path + (i,)))
    return out
