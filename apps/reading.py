"""Reading an app profile file, refusing anything it cannot mean, with the line that says it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import ENVELOPES, FIELD_TYPES, ID_KINDS, App, Envelope, RecordType
from .yamldoc import DocumentError, load as load_yaml, loads as loads_yaml

TOP = {"app", "version", "owner", "cursor", "deleted", "columns", "cloudkit", "envelope", "record_types", "notes"}
TYPE_KEYS = {"table", "cloudkit", "id", "fields", "sample", "older_fields"}
_NAME_FIX = "use letters, digits and _ (a SQL identifier)"


class AppError(DocumentError):
    """An app profile that cannot be used as written."""


def load(path: str | Path) -> App:
    try:
        data, lines = load_yaml(path)
    except DocumentError as exc:  # the file or its YAML: still a profile that cannot be used
        raise AppError(exc.source, exc.line, exc.where, exc.problem, exc.fix) from None
    return _build(data, lines, str(path))


def loads(text: str, source: str = "<string>") -> App:
    try:
        data, lines = loads_yaml(text, source)
    except DocumentError as exc:
        raise AppError(exc.source, exc.line, exc.where, exc.problem, exc.fix) from None
    return _build(data, lines, source)


def _build(data: Any, lines: dict[tuple, int], source: str) -> App:
    def fail(path: tuple, problem: str, fix: str = "") -> AppError:
        where = ".".join(str(p) for p in path) or "profile"
        line = next((lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), None)
        return AppError(source, line, where, problem, fix)

    def mapping(value: Any, path: tuple) -> dict:
        if not isinstance(value, dict):
            raise fail(path, f"expected a mapping, got {type(value).__name__}")
        return value

    def ident(value: Any, path: tuple) -> str:
        if not isinstance(value, str) or not value.replace("_", "a").isalnum() or value[0].isdigit():
            raise fail(path, f"{value!r} is not a usable name", _NAME_FIX)
        return value

    def unknown(d: dict, allowed: set, path: tuple) -> None:
        for key in d:
            if key not in allowed:
                raise fail(path + (key,), f"unknown key {key!r}", f"use one of {', '.join(sorted(allowed))}")

    top = mapping(data, ())
    unknown(top, TOP, ())
    for key in ("app", "record_types"):
        if key not in top:
            raise fail((), f"missing {key!r}", "see docs/app-profiles.md for the format")
    version = top.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise fail(("version",), f"{version!r} is not a version", "a whole number from 1")
    cursor = top.get("cursor", ["updated_at", "id"])
    if not (isinstance(cursor, list) and len(cursor) == 2):
        raise fail(("cursor",), "the cursor is two columns: [server time column, tie-break column]")
    ck = mapping(top.get("cloudkit", {}), ("cloudkit",))
    unknown(ck, {"container", "zone"}, ("cloudkit",))
    env = mapping(top.get("envelope", {"kind": "sealed"}), ("envelope",))
    unknown(env, {"kind", "payload", "key_version", "marker", "cloudkit"}, ("envelope",))
    ck_names = mapping(env.pop("cloudkit", {}), ("envelope", "cloudkit"))
    unknown(ck_names, {"payload", "key_version", "marker"}, ("envelope", "cloudkit"))
    if env.get("kind", "sealed") not in ENVELOPES:
        raise fail(("envelope", "kind"), f"unknown envelope {env.get('kind')!r}",
                   f"use one of {', '.join(ENVELOPES)}")
    envelope = Envelope(**{k: (v if k == "kind" else ident(v, ("envelope", k))) for k, v in env.items()},
                        cloudkit={k: ident(v, ("envelope", "cloudkit", k)) for k, v in ck_names.items()})
    reserved = {ident(top.get("owner", "user_id"), ("owner",)), ident(top.get("deleted", "deleted"), ("deleted",)),
                *(ident(c, ("cursor", i)) for i, c in enumerate(cursor))}
    columns = mapping(top.get("columns", {}), ("columns",))
    for column, kind in columns.items():
        ident(column, ("columns", column))
        if kind not in FIELD_TYPES:
            raise fail(("columns", column), f"unknown column type {kind!r}", f"use one of {', '.join(FIELD_TYPES)}")
    reserved |= set(columns)
    types: dict[str, RecordType] = {}
    for name, spec in mapping(top["record_types"], ("record_types",)).items():
        path = ("record_types", name)
        ident(name, path)
        spec = mapping(spec, path)
        unknown(spec, TYPE_KEYS, path)
        if spec.get("id", "uuid") not in ID_KINDS:
            raise fail(path + ("id",), f"unknown id kind {spec.get('id')!r}", f"use one of {', '.join(ID_KINDS)}")
        fields = mapping(spec.get("fields", {}), path + ("fields",))
        for field, kind in fields.items():
            ident(field, path + ("fields", field))
            if kind not in FIELD_TYPES:
                raise fail(path + ("fields", field), f"unknown field type {kind!r}",
                           f"use one of {', '.join(FIELD_TYPES)}")
            if field in reserved or field in {"id", envelope.marker}:
                raise fail(path + ("fields", field), f"{field!r} is a column the profile already uses")
        table = spec.get("table")
        cktype = spec.get("cloudkit")
        if table is None and cktype is None:
            raise fail(path, "syncs through no backend", "give it a `table:`, a `cloudkit:` record type, or both")
        sample = mapping(spec.get("sample", {}), path + ("sample",))
        for field in sample:
            if field not in fields:
                raise fail(path + ("sample", field), f"{field!r} is not a field of {name}",
                           f"use one of {', '.join(fields)}")
        older = spec.get("older_fields", [])
        if not isinstance(older, list) or any(f not in fields for f in older):
            raise fail(path + ("older_fields",), f"{older!r} is not a list of {name}'s fields",
                       f"list some of {', '.join(fields)}")
        types[name] = RecordType(name, dict(fields), spec.get("id", "uuid"),
                                 ident(table, path + ("table",)) if table is not None else None,
                                 ident(cktype, path + ("cloudkit",)) if cktype is not None else None,
                                 dict(sample) or None, tuple(older))
    if not types:
        raise fail(("record_types",), "no record types", "list at least one")
    for kind, attr in (("table", "table"), ("cloudkit", "cloudkit_type")):
        seen: dict[str, str] = {}
        for t in types.values():
            value = getattr(t, attr)
            if value and value in seen:
                raise fail(("record_types", t.name, kind), f"{value!r} is also {seen[value]}'s {kind}")
            seen[value or ""] = t.name
    return App(name=ident(top["app"], ("app",)), version=version, record_types=types, envelope=envelope,
               columns=dict(columns), owner=top.get("owner", "user_id"), cursor=tuple(cursor), deleted=top.get("deleted", "deleted"),
               container=str(ck.get("container", "iCloud.com.example.app")),
               zone=ident(ck.get("zone", "AppZone"), ("cloudkit", "zone")), source=source)
