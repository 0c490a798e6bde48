"""Small builders and readers shared by the contract tests."""

from __future__ import annotations


def rec(name: str, rtype: str = "DailyLog", tag: str | None = None, **fields) -> dict:
    out = {"recordName": name, "recordType": rtype,
           "fields": {k: {"value": v} for k, v in fields.items()}}
    if tag is not None:
        out["recordChangeTag"] = tag
    return out


def op(kind: str, record: dict) -> dict:
    return {"operationType": kind, "record": record}


def modify(target, zone: str, *ops, user: str = "alice", **extra):
    body = {"zoneID": {"zoneName": zone}, "operations": list(ops), **extra}
    return target.call("records/modify", body, user=user)


def save(target, zone: str, *records: dict, user: str = "alice") -> list[dict]:
    """Create records (forceReplace: works whether or not they exist); returns the saved dicts."""
    resp = modify(target, zone, *[op("forceReplace", r) for r in records], user=user)
    assert resp.status_code == 200, resp.text
    out = resp.json()["records"]
    assert all("serverErrorCode" not in r for r in out), out
    return out


def lookup(target, zone: str, *names: str, user: str = "alice") -> dict:
    """{name: record or None} as the server has them now."""
    body = {"zoneID": {"zoneName": zone}, "records": [{"recordName": n} for n in names]}
    out = target.ok("records/lookup", body, user=user)["records"]
    return {n: (None if r.get("serverErrorCode") == "NOT_FOUND" else r) for n, r in zip(names, out)}


def values(record: dict) -> dict:
    return {k: v["value"] for k, v in record.get("fields", {}).items()}


def fetch_page(target, zone: str, token=None, limit=None, user: str = "alice") -> dict:
    entry = {"zoneID": {"zoneName": zone}}
    if token is not None:
        entry["syncToken"] = token
    if limit is not None:
        entry["resultsLimit"] = limit
    zones = target.ok("changes/zone", {"zones": [entry]}, user=user)["zones"]
    assert len(zones) == 1
    return zones[0]


def apply_page(state: dict, page: dict) -> None:
    """What a correct client does with one page: upsert live records, drop tombstones."""
    names = [r["recordName"] for r in page["records"]]
    assert len(names) == len(set(names)), f"a record appears twice in one page: {names}"
    for r in page["records"]:
        if r.get("deleted"):
            state.pop(r["recordName"], None)
        else:
            state[r["recordName"]] = values(r)


def fetch_all(target, zone: str, token=None, state=None, limit=None, user: str = "alice", max_pages=1000):
    """Follow moreComing to the end; returns (state, token, pages)."""
    state = {} if state is None else state
    pages = 0
    while True:
        page = fetch_page(target, zone, token, limit, user)
        assert "serverErrorCode" not in page, page
        apply_page(state, page)
        token, pages = page["syncToken"], pages + 1
        if not page["moreComing"]:
            return state, token, pages
        assert pages < max_pages, "moreComing never ended"
