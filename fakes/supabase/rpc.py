"""Reading an /rpc request as PostgREST v14 reads it: which query parameters are arguments, what the
body gives, and how the arguments reach the function.

GET/HEAD: a query parameter whose value has no operator (`name=Ann`) is an argument; one with an
operator (`id=gt.2`) is a filter on the result; `select`, `order`, `limit`, ... keep their meaning.
A repeated argument keeps its last value, unless it is VARIADIC (then all of them, in order).
POST: a JSON object's keys are the argument names (an array: its first object's; `?columns=`
overrides), an empty body is `{}`, and a single unnamed json/jsonb/text parameter takes the whole
body; text/plain, text/xml and application/octet-stream bodies go whole to a single unnamed text,
xml or bytea parameter. A form body gives arguments as a query string does; a CSV body, rows as a
JSON array would.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from urllib.parse import unquote_plus

from . import grammar, rest
from .errors import ApiError, invalid_json
from .routines import Lookup
from .schema import Argument, Function

RESERVED = {"select", "columns", "on_conflict"}
RESERVED_LAST = {"order", "limit", "offset", "and", "or"}
RAW_BODIES = {"text/plain": "text", "text/xml": "xml", "application/octet-stream": "bytea"}
JSON_BODIES = {"", "application/json", "application/vnd.pgrst.object+json"}
# A value that starts like an operator expression is a filter (and must then parse as one), as
# PostgREST's parser commits once it has read `not.`, `in.`, `is.` or a whole operator and its dot.
_OPERATOR = re.compile(r"(?:not\.|in\.|is\.|isdistinct\.|(?:neq|cs|cd|ov|sl|sr|nxr|nxl|adj)\.|"
                       r"(?:eq|gte|gt|lte|lt|like|ilike|match|imatch)(?:\((?:any|all)\))?\.|"
                       r"(?:fts|plfts|phfts|wfts)(?:\([\w $]+\))?\.)")


@dataclasses.dataclass
class Call:
    lookup: Lookup
    query: list[tuple[str, str]]                    # select, filters, order, ... for the result
    direct: list[tuple[str, str]] = dataclasses.field(default_factory=list)   # GET arguments, in order
    body: bytes = b""                               # POST body as sent ("[]" for a JSON scalar)
    json_array: bool = False                        # the JSON body is an array (first object used)


@dataclasses.dataclass
class Arguments:
    """How the arguments reach the function: none, one positional value, `name := value` from the
    query string, or named from the JSON body (through json_to_record)."""
    kind: str                                        # "none" | "single" | "direct" | "json"
    used: list[Argument] = dataclasses.field(default_factory=list)
    values: dict = dataclasses.field(default_factory=dict)      # direct: name -> str | list[str]
    single: str | bytes | None = None
    body: str = ""
    json_array: bool = False


def query_pairs(raw: str) -> list[tuple[str, str]]:
    """Query parameters with a value; a bare `key` (no `=`) is dropped, as PostgREST drops it."""
    pairs = []
    for piece in raw.split("&"):
        if "=" in piece:
            key, _, value = piece.partition("=")
            pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def read_get(name: str, raw_query: str) -> Call:
    query, direct = [], []
    for key, value in query_pairs(raw_query):
        last = key.rsplit(".", 1)[-1]
        if key == "apikey" or key in RESERVED or last in RESERVED_LAST or _OPERATOR.match(value):
            query.append((key, value))
        else:
            direct.append((last, value))
    return Call(Lookup(name, frozenset(k for k, _ in direct), "json", False), query, direct)


def read_post(name: str, raw_query: str, body: bytes, content_type: str) -> Call:
    media = content_type.split(";")[0].strip().lower()
    query = query_pairs(raw_query)
    if media in RAW_BODIES:
        return Call(Lookup(name, frozenset(), RAW_BODIES[media], True), query, body=body)
    if media == "application/x-www-form-urlencoded":
        direct = [(k, v) for k, _, v in (piece.partition("=") for piece in _text(body).split("&") if piece)]
        direct = [(unquote_plus(k), unquote_plus(v)) for k, v in direct]
        return Call(Lookup(name, frozenset(k for k, _ in direct), "urlencoded", True), query, direct=direct)
    kind = "csv" if media == "text/csv" else "json"     # a CSV body is read as the JSON array it makes
    if kind == "csv":
        body, content_type = _csv_as_json(body), "application/json"
    elif media not in JSON_BODIES:
        raise invalid_json(f"Content-Type not acceptable: {media}")
    columns = [v for k, v in query if k == "columns"]
    if columns:
        keys = grammar.parse_columns(columns[-1])
        return Call(Lookup(name, frozenset(keys), kind, True), query, body=body,
                    json_array=body.lstrip(b" \t\r\n")[:1] != b"{")     # PostgREST's own test
    if body and not body.strip():
        raise invalid_json()
    parsed = rest.read_body(body, content_type) if body else {}
    if isinstance(parsed, dict):
        return Call(Lookup(name, frozenset(parsed), kind, True), query, body=body)
    if isinstance(parsed, list) and parsed:
        first = parsed[0]
        if not isinstance(first, dict) or any(not isinstance(r, dict) or r.keys() != first.keys() for r in parsed):
            raise invalid_json("All object keys must match")
        return Call(Lookup(name, frozenset(first), kind, True), query, body=body, json_array=True)
    return Call(Lookup(name, frozenset(), kind, True), query, body=b"[]", json_array=True)


def _csv_as_json(body: bytes) -> bytes:
    """A CSV body as PostgREST reads it: a header line, then rows of as many fields; NULL is null."""
    try:
        lines = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise invalid_json(f"Error in CSV body: {exc}") from None
    header, rows = (lines[0], lines[1:]) if lines else ([], [])
    if any(len(row) != len(header) for row in rows):
        raise invalid_json("All lines must have same number of fields")
    objects = [{k: None if v == "NULL" else v for k, v in zip(header, row)} for row in rows]
    return json.dumps(objects).encode()


def arguments(function: Function, call: Call) -> Arguments:
    params = function.arguments
    if len(params) == 1 and not params[0].name:
        return Arguments("single", list(params), single=_single_value(params[0], call))
    used = [a for a in params if a.name in call.lookup.keys]
    if any(not a.name for a in used):
        raise ApiError(400, "42601", 'zero-length delimited identifier at or near """"')
    if not used:
        return Arguments("none")
    if not call.lookup.is_post or call.lookup.media == "urlencoded":
        values: dict = {}
        variadic = {a.name for a in used if a.variadic}
        for key, value in call.direct:
            if key in variadic:
                values.setdefault(key, []).append(value)
            else:
                values[key] = value
        return Arguments("direct", used, values=values)
    return Arguments("json", used, body=_text(call.body), json_array=call.json_array)


def _single_value(param: Argument, call: Call) -> str | bytes:
    if not call.lookup.is_post or call.lookup.media == "urlencoded":
        return json.dumps(dict(call.direct), separators=(",", ":"), ensure_ascii=False)
    return call.body if param.type == "bytea" else _text(call.body)


def _text(raw: bytes) -> str:
    """Invalid UTF-8 stays invalid (and is refused with 22021 when sent), as PostgreSQL refuses it."""
    return raw.decode("utf-8", errors="surrogateescape")


def content_range(offset: int, rows: int, total: int | None) -> tuple[int, str]:
    """Status and Content-Range as PostgREST's `rangeStatusHeader` computes them for a call."""
    upper = offset + rows - 1
    shown = "*" if total is None else str(total)
    header = f"{offset}-{upper}/{shown}" if total != 0 and offset <= upper else f"*/{shown}"
    if total is None:
        return 200, header
    if offset > total:
        raise ApiError(416, "PGRST103", "Requested range not satisfiable",
                       f"An offset of {offset} was requested, but there are only {total} rows.",
                       headers={"Content-Range": header})
    return (206 if rows < total else 200), header


def check_max_affected(prefs: dict, function: Function) -> None:
    if prefs.get("handling") == "strict" and "max-affected" in prefs and function.returns_single:
        raise ApiError(400, "PGRST128", "Function must return SETOF or TABLE when max-affected preference is used "
                       "with handling=strict")
