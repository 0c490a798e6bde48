"""Content negotiation as PostgREST v14 does it (MediaType.hs, Plan.negotiateContent), and the request
bodies it converts to JSON (Payload.hs).

    media = negotiate(request.headers.get("accept"))      # Media("json" | "object" | "csv" | ...)
    media.content_type                                    # the Content-Type of the reply

Accept is ordered as wai-extra's parseHttpAccept orders it: spaces dropped, by q then by specificity
(semicolons minus stars), stable; the first type the gateway produces wins, none is 406 PGRST107.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from urllib.parse import parse_qsl

from .errors import ApiError, invalid_json

_KEYVAL = re.compile(r'\s*;\s*([A-Za-z0-9-]+)\s*=\s*(?:"([^"]*)"|([A-Za-z0-9|-]+))')
_TYPE = re.compile(r"([A-Za-z0-9.*]+)/([A-Za-z0-9.*+-]+)")


@dataclasses.dataclass(frozen=True)
class Media:
    """What the reply is rendered as: `json` (array), `object` (one row), `csv`, `geojson`, or `plan`
    (EXPLAIN output of the query that would render `of`, in `plan_format` with `plan_options`)."""
    kind: str
    strip_nulls: bool = False
    mime: str = "application/json"
    of: "Media | None" = None
    plan_format: str = "json"
    plan_options: tuple[str, ...] = ()

    @property
    def singular(self) -> bool:
        return self.kind == "object"

    @property
    def content_type(self) -> str:
        return self.mime + "; charset=utf-8"


JSON = Media("json")
OBJECT = Media("object", mime="application/vnd.pgrst.object+json")


def decode(text: str) -> tuple[str, str, dict[str, str]]:
    """`type/subtype; k=v` -> (type, subtype, params) lower-cased as PostgREST's tokenizer leaves them."""
    match = _TYPE.match(text)
    if not match:
        return text.lower(), "", {}
    params, pos = {}, match.end()
    while True:
        kv = _KEYVAL.match(text, pos)
        if not kv:
            break
        params[kv.group(1).lower()] = kv.group(2) if kv.group(2) is not None else kv.group(3)
        pos = kv.end()
    return match.group(1).lower(), match.group(2).lower(), params


def mime_of(text: str) -> str:
    """The media type PostgREST names in a 406 message (its `toMime` of what it decoded)."""
    main, sub, params = decode(text)
    stripped = params.get("nulls") == "stripped"
    known = {"json": "application/json", "geo+json": "application/geo+json", "openapi+json": "application/openapi+json",
             "x-www-form-urlencoded": "application/x-www-form-urlencoded", "octet-stream": "application/octet-stream"}
    if main == "*" and sub == "*":
        return "*/*"
    if main == "application" and sub in ("vnd.pgrst.object+json", "vnd.pgrst.object"):
        return "application/vnd.pgrst.object+json" + (";nulls=stripped" if stripped else "")
    if main == "application" and sub in ("vnd.pgrst.array+json", "vnd.pgrst.array"):
        return "application/vnd.pgrst.array+json;nulls=stripped" if stripped else "application/json"
    if main == "application" and sub.startswith("vnd.pgrst.plan"):
        fmt = "json" if sub.endswith("+json") else "text"
        options = [o for o in PLAN_OPTIONS if o in params.get("options", "").split("|")]
        return (f'application/vnd.pgrst.plan+{fmt}; for="{mime_of(params.get("for", "application/json"))}"'
                + (f"; options={'|'.join(options)}" if options else ""))
    if main == "application" and sub in known:
        return known[sub]
    if main == "text" and sub in ("csv", "plain", "xml"):
        return f"text/{sub}"
    return text


PLAN_OPTIONS = ("analyze", "verbose", "settings", "buffers", "wal")


def _plan(text: str, params: dict[str, str]) -> Media | None:
    """`application/vnd.pgrst.plan[+json|+text]; for="..."; options=analyze|verbose|...`"""
    of = _choose(params.get("for", "application/json"))
    if of is None or of.kind == "plan":
        return None
    fmt = "json" if decode(text)[1].endswith("+json") else "text"
    given = params.get("options", "").split("|")
    options = tuple(o for o in PLAN_OPTIONS if o in given)
    mime = f'application/vnd.pgrst.plan+{fmt}; for="{of.mime}"' + (f"; options={'|'.join(options)}" if options else "")
    return Media("plan", mime=mime, of=of, plan_format=fmt, plan_options=options)


def _choose(text: str, plans: bool = False) -> Media | None:
    main, sub, params = decode(text)
    stripped = params.get("nulls") == "stripped"
    if plans and main == "application" and sub in ("vnd.pgrst.plan", "vnd.pgrst.plan+json", "vnd.pgrst.plan+text"):
        return _plan(text, params)
    if (main, sub) == ("*", "*") or (main, sub) == ("application", "json"):
        return JSON
    if main != "application" and (main, sub) != ("text", "csv"):
        return None
    if sub in ("vnd.pgrst.object+json", "vnd.pgrst.object"):
        return Media("object", stripped, "application/vnd.pgrst.object+json" + (";nulls=stripped" if stripped else ""))
    if sub in ("vnd.pgrst.array+json", "vnd.pgrst.array"):
        return Media("json", True, "application/vnd.pgrst.array+json;nulls=stripped") if stripped else JSON
    if sub == "csv":
        return Media("csv", mime="text/csv")
    if sub == "geo+json":
        return Media("geojson", mime="application/geo+json")
    return None


def accept_order(header: str) -> list[str]:
    """wai-extra's parseHttpAccept: split on commas, drop spaces, sort by (q, specificity) descending."""
    ranked = []
    for i, item in enumerate(header.split(",")):
        item = item.replace(" ", "")
        head, sep, tail = item.partition(";q=")
        try:
            q = float(re.match(r"[0-9.eE+-]*", tail).group(0)) if sep else 1.0
        except ValueError:
            q = 1.0
        ranked.append((-q, -(head.count(";") - head.count("*")), i, head))
    return [head for *_, head in sorted(ranked)]


def wants_plan(accept: str | None) -> bool:
    return accept is not None and "vnd.pgrst.plan" in accept.lower()


def negotiate(accept: str | None, plans: bool = False) -> Media:
    """The reply's media type for a table read or write; 406 PGRST107 when none is produced. The plan
    media type only with `plans` (db_plan_enabled, off on a Supabase project by default)."""
    if accept is None:
        return JSON
    offered = accept_order(accept)
    for text in offered:
        chosen = _choose(text, plans)
        if chosen is not None:
            return chosen
    raise ApiError(406, "PGRST107", "None of these media types are available: "
                   + ", ".join(mime_of(text) for text in offered))


# ---- request bodies ----------------------------------------------------------------------------

def body_json(raw: bytes, content_type: str):
    """The request body as JSON, whatever PostgREST accepts for a table: JSON, CSV or a form."""
    main, sub, _ = decode(content_type.strip()) if content_type.strip() else ("application", "json", {})
    if (main, sub) == ("application", "json") or sub in ("vnd.pgrst.object+json", "vnd.pgrst.object"):
        try:
            return json.loads(raw) if raw.strip() else None
        except (ValueError, RecursionError):
            raise invalid_json() from None
    if (main, sub) == ("text", "csv"):
        return csv_rows(raw)
    if (main, sub) == ("application", "x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    raise invalid_json(f"Content-Type not acceptable: {mime_of(content_type.strip())}")


def csv_rows(raw: bytes) -> list[dict]:
    """A CSV body: the header names the columns, `NULL` is null, every other field a string."""
    try:
        reader = csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), strict=True)
        lines = [line for line in reader if line]
    except (csv.Error, UnicodeDecodeError) as exc:
        raise invalid_json(f"parse error: {exc}") from None
    if not lines:
        return []
    header, rows = lines[0], lines[1:]
    if any(len(line) != len(header) for line in rows):
        raise invalid_json("All lines must have same number of fields")
    return [{k: (None if v == "NULL" else v) for k, v in zip(header, line)} for line in rows]
