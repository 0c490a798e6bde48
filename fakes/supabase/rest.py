"""The PostgREST wire layer under `/rest/v1`: request -> parsed operation -> one transaction -> response.

Method names follow the operations PostgREST documents (`read_rows`, `insert_rows`, `update_rows`,
`delete_rows`, `call_function`); the status codes, headers and bodies are v14's.
"""

from __future__ import annotations

import dataclasses
import json
import re
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from . import grammar, media, statements
from .errors import ApiError, invalid_json, unknown_column
from .statements import Shape

PREFER_KEYS = {"return": {"minimal", "representation", "headers-only"},
               "resolution": {"merge-duplicates", "ignore-duplicates"},
               "count": {"exact", "planned", "estimated"}, "missing": {"default", "null"},
               "handling": {"strict", "lenient"}}
# `tx=commit|rollback` are always valid preferences (v14's acceptedPrefs), applied only when the
# database's db-tx-end allows an override (dbconfig.py); any other `tx=` value is invalid.
TX_VALUES = ("commit", "rollback")
APPLIED_ORDER = ("resolution", "missing", "return", "count", "tx", "handling", "timezone", "max-affected")


@dataclasses.dataclass
class Params:
    select: list
    filters: list
    order: list
    limit: int | None = None
    offset: int = 0
    columns: list[str] | None = None
    on_conflict: list[str] | None = None
    args: dict = dataclasses.field(default_factory=dict)
    nested: list = dataclasses.field(default_factory=list)   # (embed path, kind, parsed) for `rel.x=...`
    plan: object = None                                       # embed.Node once the embeds are resolved


def parse_params(pairs: list[tuple[str, str]], arg_names: frozenset[str] = frozenset()) -> Params:
    p = Params([grammar.SelectItem(None)], [], [])
    for key, value in pairs:
        if key == "apikey":
            continue        # the gateway's key, never a filter
        if key in arg_names:
            p.args[key] = value
        elif key == "select":
            p.select = grammar.parse_select(value)
        elif key == "order":
            p.order = grammar.parse_order(value)
        elif key == "limit":
            p.limit = grammar.parse_limit(value)
        elif key == "offset":
            p.offset = grammar.parse_offset(value)
        elif key in ("columns", "on_conflict"):
            setattr(p, key, grammar.parse_columns(value, key))
        elif key in ("or", "and", "not.or", "not.and"):
            p.filters.append(grammar.parse_logic(key, value))
        elif "." in key.split("->", 1)[0] and not key.startswith("not."):
            p.nested.append(parse_nested(key, value))
        else:
            p.filters.append(grammar.parse_filter(key, value))
    return p


def parse_nested(key: str, value: str) -> tuple[tuple[str, ...], str, object]:
    """`rel.col=eq.x`, `rel.sub.order=...`, `rel.or=(...)`, `rel.limit=`, `rel.offset=`: the embed
    path, what it sets and the parsed value (the embed itself is found when the plan is built)."""
    head, arrow, tail = key.partition("->")
    steps = head.split(".")
    if steps[-2:] in (["not", "or"], ["not", "and"]):
        path, last = steps[:-2], "not." + steps[-1]
    else:
        path, last = steps[:-1], steps[-1]
    if any(not s for s in path) or not last:
        raise grammar.parse_error("tree path", key, 1, "unexpected \".\" expecting field name")
    path = tuple(grammar.unquote(s) for s in path)
    if not arrow and last in ("or", "and", "not.or", "not.and"):
        return path, "logic", grammar.parse_logic(last, value)
    if not arrow and last == "order":
        return path, "order", grammar.parse_order(value)
    if not arrow and last in ("limit", "offset"):     # v14 reads them with readMaybe: a non-number is ignored
        parse = grammar.parse_limit if last == "limit" else grammar.parse_offset
        return path, last, parse(value) if re.fullmatch(r"\s*-?[0-9]+\s*", value) else None
    return path, "filter", grammar.parse_filter(last + arrow + tail, value)


def request_schema(method: str, headers, exposed: tuple[str, ...]) -> tuple[str, bool]:
    """v14's getSchema: the schema a request selects and whether the reply names it (Content-Profile).
    POST/PATCH/PUT/DELETE read Content-Profile, every other method Accept-Profile; without one it is the
    first exposed schema, named in the reply when several are exposed; one not exposed (an empty or a
    comma-listed value too: it is taken whole) is 406 PGRST106."""
    header = "content-profile" if method in ("DELETE", "PATCH", "POST", "PUT") else "accept-profile"
    raw = headers.get(header)
    if raw is None:
        return exposed[0], len(exposed) != 1
    wanted = raw.encode("latin-1").decode("utf-8", "replace")      # the bytes sent, as UTF-8
    if wanted not in exposed:
        raise ApiError(406, "PGRST106", f"Invalid schema: {wanted}", None,
                       "Only the following schemas are exposed: " + ", ".join(exposed))
    return wanted, True


def search_path(schema: str, extra: tuple[str, ...]) -> str:
    """The transaction's search_path as PostgREST sets it: the request's schema, then the extra search
    path, each a quoted identifier (`"personal", "public", "extensions"`)."""
    return ", ".join('"' + name.replace('"', '""') + '"' for name in (schema, *extra))


def parse_prefer(headers: list[str], timezones: frozenset[str] = frozenset(), allow_tx: bool = False
                 ) -> dict[str, str]:
    """Prefer, as v14 reads it: the first of each kind wins; `timezone=` only when PostgreSQL knows the
    zone (`pg_timezone_names`), otherwise it is an invalid preference like any unknown one; `tx=` is
    kept only with `allow_tx` (db-tx-end *-allow-override), yet valid either way."""
    prefs: dict[str, str] = {}
    invalid: list[str] = []
    for header in headers:
        for item in header.split(","):
            item = item.strip()
            key, _, value = item.partition("=")
            if not item:
                continue
            if key == "timezone" and "timezone" not in prefs:
                if value in timezones:
                    prefs["timezone"] = value
                else:
                    prefs["timezone"] = None      # the first timezone= decides, and it is not applied
                    invalid.append(item)
            elif key == "timezone":
                if prefs["timezone"] is None:
                    invalid.append(item)
            elif key == "tx" and value in TX_VALUES:
                if allow_tx:
                    prefs.setdefault("tx", value)
            elif key == "max-affected" and value.isdigit() or value in PREFER_KEYS.get(key, ()):
                prefs.setdefault(key, value)
            else:
                invalid.append(item)
    if prefs.get("timezone", "") is None:
        del prefs["timezone"]
    if invalid and prefs.get("handling") == "strict":
        raise ApiError(400, "PGRST122", "Invalid preferences given with handling=strict",
                       "Invalid preferences: " + ", ".join(invalid))
    return prefs


def counts(prefs: dict) -> bool:
    """A write or RPC counts exactly for count=exact and count=estimated; count=planned is for reads."""
    return prefs.get("count") in ("exact", "estimated")


def applied(prefs: dict[str, str], used: tuple[str, ...]) -> dict[str, str]:
    """Preference-Applied in v14's order; a timezone the transaction took and a tx the database lets
    the request choose are applied to every operation."""
    values = [f"{k}={prefs[k]}" for k in APPLIED_ORDER if k in prefs and (k in used or k in ("timezone", "tx"))
              and (k != "max-affected" or prefs.get("handling") == "strict")]
    return {"Preference-Applied": ", ".join(values)} if values else {}


def negotiated(request: Request, plans: bool = False) -> media.Media:
    """The reply's media type from Accept (JSON, one object, nulls stripped, CSV, GeoJSON, with
    `plans` the EXPLAIN of one of them) or 406."""
    return media.negotiate(request.headers.get("accept"), plans)


def media_fields(chosen: media.Media) -> dict:
    """The Shape fields a media type sets (for a plan: those of the query it explains)."""
    chosen = chosen.of if chosen.kind == "plan" else chosen
    render = chosen.kind if chosen.kind in ("csv", "geojson") else "json"
    return {"singular": chosen.singular, "render": render, "strip_nulls": chosen.strip_nulls}


def read_body(raw: bytes, content_type: str):
    """JSON, CSV (`NULL` is null) or a urlencoded form, as JSON; anything else 400 PGRST102."""
    return media.body_json(raw, content_type)


def payload_rows(body, columns: list[str] | None) -> tuple[list[dict], list[str]]:
    """Rows and their column list; keys must match across rows unless `columns=` says which to take."""
    rows = [body] if isinstance(body, dict) else body
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise invalid_json()
    if columns is not None:
        return [{k: v for k, v in r.items() if k in columns} for r in rows], columns
    keys = list(rows[0]) if rows else []
    first = set(keys)
    if any(set(r) != first for r in rows[1:]):
        raise invalid_json("All object keys must match")
    return rows, keys


def check_columns(table, names: list[str]) -> None:
    for name in names:
        if name not in table.columns:
            raise unknown_column(name, table.name)


def content_range(offset: int, rows: int, total: int | None) -> str:
    shown = "*" if total is None else str(total)
    return f"*/{shown}" if rows == 0 else f"{offset}-{offset + rows - 1}/{shown}"


def read_status(offset: int, rows: int, total: int | None) -> int:
    if total is None:
        return 200
    if offset > total:
        raise ApiError(416, "PGRST103", "Requested range not satisfiable",
                       f"An offset of {offset} was requested, but there are only {total} rows.",
                       headers={"Content-Range": f"*/{total}"})
    return 206 if rows < total else 200


def respond(status: int, body: str | None, headers: dict[str, str], singular: "bool | media.Media" = False,
            typed: bool = False) -> Response:
    """A reply; it has a Content-Type when it has a body, or when `typed` (HEAD carries GET's headers)."""
    chosen = singular if isinstance(singular, media.Media) else (media.OBJECT if singular else media.JSON)
    if body is None and not typed:
        return Response(status_code=status, headers=headers)
    headers["Content-Type"] = chosen.content_type
    return Response(b"" if body is None else body.encode(), status_code=status, headers=headers)


def content_location(table: str, pairs: list[tuple[str, str]]) -> str:
    """v14's Content-Location on reads: the query string sorted by key, a repeated key's values joined
    by commas, escaped as Haskell's urlEncodeVars escapes (non-ASCII bytes twice, as v14 does)."""
    grouped: dict[str, list[str]] = {}
    for key, value in sorted(pairs, key=lambda kv: kv[0].encode()):
        grouped.setdefault(key, []).append(value)
    query = "&".join(f"{_url_encode(k)}={','.join(_url_encode(v) for v in vs)}" for k, vs in grouped.items())
    return f"/{table}" + (f"?{query}" if query else "")


def _url_encode(text: str) -> str:
    latin = text.encode("utf-8", "surrogatepass").decode("latin-1")
    return quote(latin.encode("utf-8"), safe="-_.~")


def location(table, body: str | None) -> dict[str, str]:
    """`return=headers-only`: the first inserted row's key; the body is an array, or the row itself
    when the client asked for a single object."""
    rows = json.loads(body) if body else []
    rows = [rows] if isinstance(rows, dict) else rows
    if not rows or not table.primary_key:
        return {}
    row = rows[0]
    query = "&".join(f"{k}=eq.{row.get(k)}" for k in table.primary_key)
    return {"Location": f"/{table.name}?{query}"}


def shape_for(p: Params, *, count: bool, singular: bool, body: bool) -> Shape:
    return Shape(p.select, p.filters, p.order, p.limit, p.offset, count, singular, body)


def embeds(p: Params) -> list[str]:
    return [item.name for item in p.select if isinstance(item, grammar.Embed)]


__all__ = ["parse_params", "parse_prefer", "request_schema", "search_path", "applied", "negotiated", "media_fields", "content_location", "read_body", "payload_rows",
           "check_columns", "content_range", "read_status", "respond", "location", "shape_for",
           "embeds", "statements"]
