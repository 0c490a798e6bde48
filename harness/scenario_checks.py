"""Validating a scenario file against the schema in `scenario` (STEPS, TOP, SWEEP) and the app
profile it names (its record types and their ids).

Every check raises `ScenarioError` at the line and column of the value it is about, so a mistake
in a file is reported as one line that says what to fix — never run, never blamed on a client.
"""

from __future__ import annotations

import difflib
import math
import uuid
from typing import Any

from dualsync import apps
from dualsync.harness.backends.capabilities import ALL as CAPABILITIES
from dualsync.harness.checkers.verdict import INVARIANTS
from dualsync.harness.scenario import (DEVICE, OPERATIONS, RECORD_STEPS, REQUIRED_TOP, STEPS, SWEEP,
                                       SWEEP_KINDS, TOP, ANY, Num, ScenarioError, Step)
from dualsync.harness.scenario_yaml import YamlProblem, parse


class Checker:
    def __init__(self, source: str, positions: dict[tuple, tuple[int, int]]):
        self.source, self.positions = source, positions

    def err(self, path: tuple, problem: str, fix: str) -> ScenarioError:
        """An error at `path`, or at the nearest enclosing part the file spells out."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.positions:
                line, col = self.positions[path[:n]]
                break
        else:  # nothing to point at (a missing field): the top of the file
            line, col = 1, 1
        return ScenarioError(self.source, line, ".".join(map(str, path)) or "file", problem, fix, col)

    def line(self, path: tuple) -> int:
        return self.positions.get(path, (0, 0))[0]

    def value(self, value: Any, rule: Any, path: tuple) -> None:
        if rule is ANY:
            return
        if isinstance(rule, Num):
            return self.number(value, rule, path)
        if isinstance(rule, tuple) and all(isinstance(r, str) for r in rule):
            if not isinstance(value, str) or value not in rule:
                raise self.err(path, f"{value!r} is not allowed", f"use one of {', '.join(rule)}"
                               + _did_you_mean(value, rule))
            return
        types = rule if isinstance(rule, tuple) else (rule,)
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise self.err(path, f"expected {_names(types)}, got {_kind(value)} {value!r}", f"write {_a(types)}")

    def number(self, value: Any, rule: Num, path: tuple) -> None:
        if isinstance(value, bool) or not isinstance(value, rule.types):
            raise self.err(path, f"expected {_names(rule.types)}, got {_kind(value)} {value!r}",
                           f"write {_a(rule.types)}")
        why = f" ({rule.why})" if rule.why else ""
        if not math.isfinite(value):
            raise self.err(path, f"{value!r} is not a finite number", "write a number")
        if rule.low is not None and value < rule.low or rule.high is not None and value > rule.high:
            span = (f"between {rule.low} and {rule.high}" if rule.high is not None else f"at least {rule.low}")
            raise self.err(path, f"{value!r} is out of range", f"write a number {span}{why}")
        if rule.above is not None and value <= rule.above:
            raise self.err(path, f"{value!r} is out of range", f"write a number above {rule.above}{why}")
        if value in rule.refused:
            raise self.err(path, f"{value!r} is not allowed", f"write another value{why}")

    def clients(self, mapping: dict, base: tuple, suite: str | None = None) -> None:
        known = known_clients(suite)
        for name in mapping:
            if name == "mutant:*" and not suite or name in known:
                continue
            fix = (f"use one of {', '.join(known)} (the clients of suite {suite})" if suite else
                   "use legacy, coordinated, mutant:* (every mutant) or mutant:<name>")
            raise self.err(base + (name,), f"unknown client {name!r}", fix + _did_you_mean(name, known)
                           + ("" if suite else "; python -m dualsync.clients --list lists them"))

    def expect(self, expect: dict, base: tuple, suite: str | None = None) -> None:
        self.clients(expect, base, suite)
        for client, want in expect.items():
            if want == "pass":
                continue
            if not isinstance(want, list) or not want:
                raise self.err(base + (client,), f"{want!r} is not an expected verdict",
                               "write `pass`, or the list of invariants that must be violated")
            for i, name in enumerate(want):
                self.value(name, str, base + (client, i))
                if name not in INVARIANTS:
                    raise self.err(base + (client, i), f"unknown invariant {name!r}",
                                   f"use one of {', '.join(INVARIANTS)}" + _did_you_mean(name, INVARIANTS))


def build(text: str, source: str) -> dict[str, Any]:
    """The keyword arguments of a `Scenario`, from the text of a file; raises ScenarioError."""
    try:
        data, positions = parse(text)
    except YamlProblem as exc:
        line, col = exc.position or (None, None)
        raise ScenarioError(source, line, "yaml", exc.problem, exc.fix, col) from None
    c = Checker(source, positions)
    if not isinstance(data, dict):
        raise c.err((), f"is not a mapping (it holds {_kind(data)})", "start with `id: ...`")
    for name in data:
        if name not in TOP:
            raise c.err((name,), "unknown field", f"use one of {', '.join(TOP)}" + _did_you_mean(name, TOP))
        c.value(data[name], TOP[name], (name,))
    for name in REQUIRED_TOP:
        if name not in data:
            raise c.err((name,), "missing", f"every scenario needs {', '.join(REQUIRED_TOP)}")
    devices = _devices(data["devices"], c)
    try:
        app = apps.load(data.get("app") or None)
    except apps.AppError as exc:
        raise c.err(("app",), str(exc), "name a shipped app profile (python -m dualsync.apps list) or a profile file") from None
    _strings(c, data, "guards", INVARIANTS)
    _strings(c, data, "tags", None)
    _strings(c, data, "needs", CAPABILITIES)
    if not data["guards"]:
        raise c.err(("guards",), "is empty", "name the invariant(s) this scenario guards")
    steps = _Steps(c, devices, app).all(data["steps"])
    suite = _suite(data.get("suite"), c)
    c.expect(data.get("expect") or {}, ("expect",), suite)
    c.clients(data.get("known") or {}, ("known",), suite)
    for client, reason in (data.get("known") or {}).items():
        c.value(reason, str, ("known", client))
    if data.get("sweep") is not None:
        _sweep(data["sweep"], devices, len(steps), c, suite)
    if not str(data["id"]).strip():
        raise c.err(("id",), "is empty", "name the scenario")
    return dict(id=str(data["id"]), guards=list(data["guards"]), devices=devices, steps=steps,
                title=data.get("title", ""), tags=list(data.get("tags", [])), seed=data.get("seed", 0),
                users=data.get("users") or {}, expect=data.get("expect") or {}, sweep=data.get("sweep"),
                liveness_bound=float(data.get("liveness_bound", 600.0)), notes=data.get("notes", ""),
                known=dict(data.get("known") or {}), app=data.get("app", ""), suite=data.get("suite", ""),
                needs=list(data.get("needs", [])), id_at=c.positions.get(("id",), (0, 0)))


def known_clients(suite: str | None = None) -> list[str]:
    """Every selectable client of a client suite (default: the reference clients: legacy,
    coordinated, mutant:<name>)."""
    from dualsync.clients.api import DEFAULT_SUITE, load_suite
    return [name for name, _desc, _predicted in load_suite(suite or DEFAULT_SUITE).catalogue()]


def _suite(value: str | None, c: Checker) -> str | None:
    """The client suite a file names (None: the reference clients), once it is known to load."""
    if not value:
        return None
    from dualsync.clients.api import load_suite
    try:
        load_suite(value)
    except ImportError as exc:
        raise c.err(("suite",), f"{value!r} is not a client suite ({exc})",
                    "name the importable module of a client suite (see dualsync.clients.api.ClientSuite)") from None
    return value


def check_client(value: str, suite: str | None = None) -> str:
    """A --client value: a reference client of the registry (or a client of `suite`, the suite a
    scenario file names), or `cmd:ADAPTER` whose adapter answers hello. Raises ValueError with the
    one-line fix."""
    if value.startswith("cmd:"):
        from dualsync.harness.external import AdapterFailure, describe
        try:
            describe(value[4:].strip())
        except AdapterFailure as exc:
            raise ValueError(f"--client={value}: {exc.headline}") from None
        return value
    names = known_clients(suite)
    if value not in names:
        whose = f"a client of {suite}" if suite else "a known client"
        raise ValueError(f"--client={value} is not {whose}{_did_you_mean(value, names)}; "
                         f"choose one of: {', '.join(names)}" + ("" if suite else ", or cmd:ADAPTER"))
    return value


def _strings(c: Checker, data: dict, field: str, allowed) -> None:
    for i, value in enumerate(data.get(field, [])):
        c.value(value, str, (field, i))
        if allowed is not None and value not in allowed:
            raise c.err((field, i), f"unknown invariant {value!r}",
                        f"use one of {', '.join(allowed)}" + _did_you_mean(value, allowed))


def _devices(spec: dict, c: Checker) -> dict[str, dict[str, Any]]:
    if not spec:
        raise c.err(("devices",), "is empty", "declare at least one device: `A: {user: alice}`")
    out = {}
    for name, dev in spec.items():
        c.value(name, str, ("devices", name))
        if not isinstance(dev, dict) or "user" not in dev:
            raise c.err(("devices", name), "needs a user", f"write `{name}: {{user: alice}}`")
        for field, value in dev.items():
            if field not in DEVICE:
                raise c.err(("devices", name, field), "unknown field",
                            "a device takes user, skew (seconds) and page_size (rows per Supabase page)")
            c.value(value, DEVICE[field], ("devices", name, field))
        out[name] = {"user": dev["user"], "skew": float(dev.get("skew", 0)),
                     **({"page_size": dev["page_size"]} if "page_size" in dev else {})}
    return out


class _Steps:
    """The steps in order: each one's fields, and the names and users it refers to."""

    def __init__(self, c: Checker, devices: dict, app: apps.App):
        self.c, self.devices, self.app = c, devices, app
        self.users = sorted({d["user"] for d in devices.values()})
        self.held: set[str] = set()     # `as` names of earlier hold steps
        self.started: set[str] = set()  # names of operations a `wait` can name

    def all(self, raw_steps: list) -> list[Step]:
        return [self.one(raw, i) for i, raw in enumerate(raw_steps)]

    def one(self, raw: Any, i: int) -> Step:
        c, path = self.c, ("steps", i)
        op, value = (raw, None) if isinstance(raw, str) else (
            next(iter(raw.items())) if isinstance(raw, dict) and len(raw) == 1 else (None, None))
        if not isinstance(op, str) or op not in STEPS:
            raise c.err(path, f"unknown step {op!r}" if op else "a step is one `name: arguments` pair",
                        f"use one of {', '.join(STEPS)}" + (_did_you_mean(op, STEPS) if op else ""))
        short, required, fields = STEPS[op]
        if isinstance(value, dict):
            args = dict(value)
        elif value is None:
            args = {}
        elif short is None:
            raise c.err(path + (op,), f"takes a mapping, got {_kind(value)} {value!r}",
                        f"write `{op}: {{{', '.join(f'{r}: ...' for r in required)}}}`")
        else:
            args = {short: value}
        if short == "names" and short in args and not isinstance(args[short], list):
            args[short] = [args[short]]
        here = (lambda name: path + (op, name) if path + (op, name) in c.positions else path + (op,))
        for name, v in args.items():
            if name not in fields:
                raise c.err(path + (op, name), "unknown argument",
                            f"{op} takes {', '.join(fields) or 'nothing'}" + _did_you_mean(name, fields))
            c.value(v, fields[name], here(name))
        for name in required:
            if name not in args:
                raise c.err(path + (op,), f"missing {name}", f"{op} needs {', '.join(required)}")
        self.refs(op, args, here)
        return Step(op, args, c.line(path))

    def refs(self, op: str, args: dict, here) -> None:
        c = self.c
        if "device" in args and args["device"] not in self.devices:
            raise c.err(here("device"), f"no device {args['device']!r}",
                        f"declare it under devices (known: {', '.join(self.devices)})")
        if "user" in args and args["user"] not in self.users:
            raise c.err(here("user"), f"no device signs in as user {args['user']!r}",
                        f"use a user of a declared device (known: {', '.join(self.users)})")
        if op == "rotate_key" and "device" in args and self.devices[args["device"]]["user"] != args["user"]:
            raise c.err(here("device"), f"device {args['device']!r} belongs to "
                        f"{self.devices[args['device']]['user']!r}, not {args['user']!r}",
                        "name one of that user's devices")
        if op in RECORD_STEPS:
            if args["type"] not in self.app.record_types:
                raise c.err(here("type"), f"app {self.app.name!r} has no record type {args['type']!r}",
                            f"use one of {', '.join(self.app.record_types)}"
                            + _did_you_mean(args["type"], self.app.record_types))
            _record_id(self.app.record_types[args["type"]], args["id"], here("id"), c)
        if op == "fail" and not {"status", "ck_error", "ck_item_error", "error"} & set(args):
            raise c.err(here("fail"), "says nothing about how to fail", "give status, ck_error, ck_item_error or error")
        if op == "fail" and args.get("mixed") and "ck_item_error" not in args:
            raise c.err(here("mixed"), "mixed: true splits a CloudKit batch by per-record errors",
                        "give ck_item_error (e.g. THROTTLED) beside it, or drop mixed")
        if op == "hold":
            self.held.add(args["as"])
        if op in OPERATIONS:
            self.started |= {args["as"]} if "as" in args else _default_names(op, args)
        for i, name in enumerate(args.get("names", [])) if op in ("release", "wait") else ():
            item = here("names") + (i,) if here("names") + (i,) in c.positions else here("names")
            c.value(name, str, item)
            pool, what = (self.held, "held by an earlier hold step (`as: NAME`)") if op == "release" else (
                self.started, "started by an earlier step (`wait: false, as: NAME`)")
            if name not in pool:
                raise c.err(item, f"nothing is {what.split(' by ')[0]} as {name!r}",
                            f"name one {what}" + (f"; known: {', '.join(sorted(pool))}" if pool else ""))
        if op in ("release", "wait") and not args["names"]:
            raise c.err(here("names"), "is empty", f"name what to {op}")


def _default_names(op: str, args: dict) -> set[str]:
    """What the World calls an operation started without `as` (sign_in may sign up)."""
    process = args["device"] + (f"/{args['path']}" if "path" in args else "")
    ops = ("sign_up", "sign_in") if op in ("sign_in", "sign_up") else (op,)
    return {f"{o}:{process}" for o in ops}


def _record_id(record_type: apps.RecordType, value: str, path: tuple, c: Checker) -> None:
    if record_type.id == "uuid":
        try:
            ok = str(uuid.UUID(value)) == value
        except ValueError:
            ok = False
        if not ok:
            raise c.err(path, f"{value!r} is not a UUID, and {record_type.name} rows are keyed by uuid",
                        "write a lowercase UUID such as 7f1c0d4e-0000-4000-8000-000000000001")
    elif not (0 < len(value) <= 255 and value.isascii() and value.isprintable()) or value.startswith("_"):
        raise c.err(path, f"{value!r} is not a CloudKit record name",
                    "write 1-255 printable ASCII characters, not starting with '_'")


def _sweep(spec: dict, devices: dict, n_steps: int, c: Checker, suite: str | None = None) -> None:
    for field, value in spec.items():
        if field not in SWEEP:
            raise c.err(("sweep", field), "unknown field", f"a sweep takes {', '.join(SWEEP)}"
                        + _did_you_mean(field, SWEEP))
        c.value(value, SWEEP[field], ("sweep", field))
    for field, allowed, what in (("devices", tuple(devices), "a declared device"), ("kinds", SWEEP_KINDS, "")):
        if field in spec and not spec[field]:
            raise c.err(("sweep", field), "is empty: the sweep would test nothing",
                        f"leave {field} out (all), or name {what or 'a kind'}")
        for i, value in enumerate(spec.get(field, [])):
            if value not in allowed:
                raise c.err(("sweep", field, i), f"{value!r} is not {what or 'a sweep kind'}",
                            f"use one of {', '.join(allowed)}" + _did_you_mean(value, allowed))
    if spec.get("from_step", 0) >= max(n_steps, 1):
        raise c.err(("sweep", "from_step"), f"{spec['from_step']} is past the last step ({n_steps - 1})",
                    "start the sweep at a step of the file (counted from 0)")
    c.expect(spec.get("expect") or {}, ("sweep", "expect"), suite)


def _did_you_mean(value: Any, choices) -> str:
    close = difflib.get_close_matches(str(value), [str(x) for x in choices], n=1) if value is not None else []
    return f" (did you mean {close[0]}?)" if close else ""


def _names(types: tuple) -> str:
    return " or ".join({"str": "text", "dict": "mapping"}.get(t.__name__, t.__name__) for t in types)


def _a(types: tuple) -> str:
    names = _names(types)
    return ("an " if names[0] in "aeiou" else "a ") + names


def _kind(value: Any) -> str:
    return {"str": "text", "dict": "mapping", "NoneType": "nothing"}.get(type(value).__name__, type(value).__name__)
