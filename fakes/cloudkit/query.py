"""records/query: a subset of Apple's filterBy comparators, sortBy, paging by continuationMarker.

Results are computed afresh per page and paged by offset, so a write between pages can shift
them (Apple documents no snapshot guarantee for query paging; change feeds are what sync uses).
"""

from __future__ import annotations

import json
import zlib

from .errors import CloudKitError, bad_request
from .tokens import Token

SYSTEM_FIELDS = {
    "___recordID": lambda r: r.name,
    "___createTime": lambda r: r.created[0],
    "___modTime": lambda r: r.modified[0],
}
COMPARATORS = {
    "EQUALS": lambda a, b: a == b,
    "NOT_EQUALS": lambda a, b: a != b,
    "LESS_THAN": lambda a, b: a < b,
    "LESS_THAN_OR_EQUALS": lambda a, b: a <= b,
    "GREATER_THAN": lambda a, b: a > b,
    "GREATER_THAN_OR_EQUALS": lambda a, b: a >= b,
    "IN": lambda a, b: isinstance(b, list) and a in b,
    "NOT_IN": lambda a, b: isinstance(b, list) and a not in b,
    "BEGINS_WITH": lambda a, b: isinstance(a, str) and isinstance(b, str) and a.startswith(b),
    "LIST_CONTAINS": lambda a, b: isinstance(a, list) and b in a,
    "NOT_LIST_CONTAINS": lambda a, b: isinstance(a, list) and b not in a,
}
# Real comparators this fake does not implement: asking for one fails loudly.
UNIMPLEMENTED = {"NEAR", "CONTAINS_ALL_TOKENS", "CONTAINS_ANY_TOKENS", "LIST_MEMBER_BEGINS_WITH",
                 "NOT_LIST_MEMBER_BEGINS_WITH", "NOT_BEGINS_WITH"}


class QueryOps:
    def records_query(self, body: dict, device: str = "web") -> dict:
        query = body.get("query")
        if not isinstance(query, dict):
            raise bad_request("records/query needs a 'query' object with recordType")
        rtype = query.get("recordType")
        if not isinstance(rtype, str) or not rtype:
            raise bad_request("query.recordType must be a non-empty string")
        filters = [_parse_filter(f) for f in _list(query.get("filterBy"), "query.filterBy")]
        sorts = [_parse_sort(s) for s in _list(query.get("sortBy"), "query.sortBy")]
        limit = self.results_limit(body.get("resultsLimit"))
        zones = self._query_zones(body)
        fingerprint = zlib.crc32(json.dumps(query, sort_keys=True, default=str).encode())
        offset = self._query_offset(body.get("continuationMarker"), fingerprint)
        hits = [(z, r) for z in zones for r in z.records.values()
                if not r.deleted and r.type == rtype and all(_matches(r, f) for f in filters)]
        hits.sort(key=lambda zr: _sort_key(zr[1], sorts))
        page = hits[offset:offset + limit]
        desired = _names(body.get("desiredKeys"), "desiredKeys")
        out = {"records": [r.render(z.zone_id(), desired) for z, r in page]}
        if offset + limit < len(hits):
            out["continuationMarker"] = self.container.codec.encode(
                Token("query", self.id, fingerprint, 0, offset + limit, 0))
        return out

    def _query_zones(self, body: dict) -> list:
        if body.get("zoneWide") is True and body.get("zoneID") is None:
            return list(self.zones.values())
        return [self.zone(self.zone_name(body.get("zoneID")))]

    def _query_offset(self, marker, fingerprint: int) -> int:
        if marker is None:
            return 0
        tok = self.container.codec.decode(marker, "query", "continuationMarker")
        if tok.database != self.id or tok.incarnation != fingerprint:
            raise bad_request("continuationMarker belongs to a different query")
        return tok.position

    def results_limit(self, raw) -> int:
        cap = self.container.config.max_results
        if raw is None:
            return cap
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise bad_request(f"resultsLimit must be a positive integer, got {str(raw)[:40]!r}")
        return min(raw, cap)  # "the server may use a limit lower than this value"


def _names(raw, what: str):
    if raw is not None and not (isinstance(raw, list) and all(isinstance(k, str) for k in raw)):
        raise bad_request(f"{what} must be a list of names")
    return raw


def _list(raw, what: str) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request(f"{what} must be a list")
    return raw


def _parse_filter(f) -> tuple:
    if not isinstance(f, dict) or not isinstance(f.get("fieldName"), str):
        raise bad_request("each filterBy entry needs fieldName, comparator and fieldValue")
    comp = f.get("comparator")
    if comp in UNIMPLEMENTED:
        raise CloudKitError("NOT_IMPLEMENTED", f"comparator {comp} is not implemented by this fake")
    if comp not in COMPARATORS:
        raise bad_request(f"unknown comparator {str(comp)[:40]!r}")
    value = f.get("fieldValue")
    if not isinstance(value, dict) or "value" not in value:
        raise bad_request(f"filter on {f['fieldName']!r} needs fieldValue {{value, type}}")
    return f["fieldName"], COMPARATORS[comp], _plain(value["value"])


def _parse_sort(s) -> tuple:
    if not isinstance(s, dict) or not isinstance(s.get("fieldName"), str):
        raise bad_request("each sortBy entry needs a fieldName")
    asc = s.get("ascending", True)
    if not isinstance(asc, bool):
        raise bad_request("sortBy.ascending must be true or false")
    return s["fieldName"], asc


def _plain(v):
    # A reference compares by its record name, like ___recordID does.
    return v["recordName"] if isinstance(v, dict) and "recordName" in v else v


def _field(rec, name: str):
    if name in SYSTEM_FIELDS:
        return SYSTEM_FIELDS[name](rec)
    f = rec.fields.get(name)
    return None if f is None else _plain(f[1])


def _matches(rec, flt: tuple) -> bool:
    name, comp, value = flt
    actual = _field(rec, name)
    if actual is None:
        return False
    try:
        return bool(comp(actual, value))
    except TypeError:   # comparing unlike types matches nothing, as a typed index would
        return False


class _Desc:
    """Inverts ordering for a descending sort key."""
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        return other.v < self.v

    def __eq__(self, other):
        return self.v == other.v


def _sort_key(rec, sorts: list) -> tuple:
    key = []
    for name, asc in sorts:
        v = _field(rec, name)
        # Missing values last; then group by kind so unlike types never compare.
        part = (v is None, type(v).__name__ if v is not None else "", v if v is not None else 0)
        key.append(part if asc else (part[0], part[1], _Desc(part[2])))
    key.append(rec.name)
    return tuple(key)
