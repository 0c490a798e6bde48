"""records/modify: every operation type against every record state, atomic and non-atomic batches."""

from __future__ import annotations

import pytest

from .helpers import lookup, modify, op, rec, save, values

STATES = ("exists", "missing", "stale_tag", "no_tag")
# Outcome per (operation, state): "ok", or the serverErrorCode of the record's slot.
# create-on-existing follows the fake's default (Config.create_existing_code = EXISTS).
EXPECTED = {
    "create":       {"exists": "EXISTS", "missing": "ok", "stale_tag": "EXISTS", "no_tag": "EXISTS"},
    "update":       {"exists": "ok", "missing": "NOT_FOUND", "stale_tag": "CONFLICT", "no_tag": "BAD_REQUEST"},
    "forceUpdate":  {"exists": "ok", "missing": "ok", "stale_tag": "ok", "no_tag": "ok"},
    "replace":      {"exists": "ok", "missing": "NOT_FOUND", "stale_tag": "CONFLICT", "no_tag": "BAD_REQUEST"},
    "forceReplace": {"exists": "ok", "missing": "ok", "stale_tag": "ok", "no_tag": "ok"},
    "delete":       {"exists": "ok", "missing": "NOT_FOUND", "stale_tag": "CONFLICT", "no_tag": "ok"},
    "forceDelete":  {"exists": "ok", "missing": "ok", "stale_tag": "ok", "no_tag": "ok"},
}


def _prepare(target, zone, state):
    """Put record r1 in `state`; returns the tag the operation should send (or None)."""
    if state == "missing":
        return "1a2b3c" if state == "missing" else None   # a tag for a record that is not there
    first = save(target, zone, rec("r1", kept="old", note="n"))[0]
    if state == "stale_tag":
        save(target, zone, rec("r1", kept="old", note="moved on"))
        return first["recordChangeTag"]
    return first["recordChangeTag"] if state == "exists" else None


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", list(EXPECTED))
def test_operation_against_record_state(target, zone, kind, state):
    tag = _prepare(target, zone, state)
    before = lookup(target, zone, "r1")["r1"]
    body_fields = {} if "elete" in kind else {"note": "new"}
    resp = modify(target, zone, op(kind, rec("r1", tag=tag, **body_fields)))
    assert resp.status_code == 200, resp.text   # per-record errors travel inside a 200
    slot = resp.json()["records"][0]
    assert slot["recordName"] == "r1"
    after = lookup(target, zone, "r1")["r1"]
    want = EXPECTED[kind][state]
    if want != "ok":
        assert slot["serverErrorCode"] == want, slot
        assert after == before, "a failed operation changed the record"
        return
    assert "serverErrorCode" not in slot, slot
    _check_effect(kind, slot, before, after)


def _check_effect(kind, slot, before, after):
    if "elete" in kind:
        assert slot.get("deleted") is True and after is None
        return
    assert after["recordChangeTag"] == slot["recordChangeTag"]
    if before is not None:
        assert after["recordChangeTag"] != before["recordChangeTag"], "a save must change the tag"
    got = values(after)
    assert got["note"] == "new"
    # update/forceUpdate keep fields not sent; replace/forceReplace and creates have only what was sent
    keeps = kind in ("update", "forceUpdate") and before is not None
    assert ("kept" in got) == keeps, got


def test_conflict_carries_the_server_record(target, zone):
    first = save(target, zone, rec("r1", note="a"))[0]
    second = save(target, zone, rec("r1", note="b"))[0]
    slot = modify(target, zone, op("update", rec("r1", tag=first["recordChangeTag"], note="c"))).json()["records"][0]
    assert slot["serverErrorCode"] == "CONFLICT"
    if target.has_control:   # the fake's documented choice: the current record under serverRecord
        assert slot["serverRecord"]["recordChangeTag"] == second["recordChangeTag"]
        assert values(slot["serverRecord"]) == {"note": "b"}


def test_tags_are_opaque_and_change_on_every_save(target, zone):
    tags = [save(target, zone, rec("r1", n=i))[0]["recordChangeTag"] for i in range(5)]
    assert len(set(tags)) == 5
    assert not all(t.isdigit() for t in tags), "tags look like ordered integers"


def test_non_atomic_batch_applies_the_good_operations(target, zone):
    stale = save(target, zone, rec("r1", v=1))[0]["recordChangeTag"]
    save(target, zone, rec("r1", v=2))
    resp = modify(target, zone, op("create", rec("new1", v=1)), op("update", rec("r1", tag=stale, v=3)),
                  op("create", rec("new2", v=1)), atomic=False)
    slots = resp.json()["records"]
    assert resp.status_code == 200
    assert [s.get("serverErrorCode") for s in slots] == [None, "CONFLICT", None]
    now = lookup(target, zone, "new1", "new2", "r1")
    assert now["new1"] and now["new2"] and values(now["r1"]) == {"v": 2}


def test_atomic_batch_in_custom_zone_fails_whole(target, zone):
    stale = save(target, zone, rec("r1", v=1))[0]["recordChangeTag"]
    save(target, zone, rec("r1", v=2))
    resp = modify(target, zone, op("create", rec("new1", v=1)), op("update", rec("r1", tag=stale, v=3)),
                  op("forceDelete", rec("r1x")))   # atomic is the default in custom zones
    assert resp.status_code in (200, 400)
    slots = resp.json()["records"]
    assert [s["serverErrorCode"] for s in slots] == ["ATOMIC_ERROR", "CONFLICT", "ATOMIC_ERROR"]
    assert lookup(target, zone, "new1")["new1"] is None, "an atomic batch saved part of itself"


@pytest.mark.cloudkit_config(atomic_failure_status=400)
def test_atomic_failure_status_is_configurable(target, zone):
    target.need_control("configuration")
    resp = modify(target, zone, op("create", rec("a", v=1)), op("update", rec("missing", tag="x", v=1)))
    assert resp.status_code == 400
    assert [s["serverErrorCode"] for s in resp.json()["records"]] == ["ATOMIC_ERROR", "NOT_FOUND"]


def test_default_zone_is_never_atomic(target):
    resp = target.call("records/modify", {"operations": [op("create", rec("d1", v=1)),
                                                          op("update", rec("nope", tag="x", v=1))]})
    assert [s.get("serverErrorCode") for s in resp.json()["records"]] == [None, "NOT_FOUND"]
    target.call("records/modify", {"operations": [op("forceDelete", rec("d1"))]})
    bad = target.call("records/modify", {"atomic": True, "operations": [op("create", rec("d2", v=1))]})
    assert bad.status_code == 400 and bad.json()["serverErrorCode"] == "BAD_REQUEST"


def test_operations_apply_in_array_order_and_results_keep_it(target, zone):
    names = [f"o{i}" for i in range(12)]
    resp = modify(target, zone, *[op("create", rec(n, i=i)) for i, n in enumerate(names)])
    assert [s["recordName"] for s in resp.json()["records"]] == names


def test_create_without_name_gets_a_server_name(target, zone):
    slot = modify(target, zone, op("create", {"recordType": "DailyLog", "fields": {}})).json()["records"][0]
    assert slot["recordName"] and not slot["recordName"].startswith("_")
    assert lookup(target, zone, slot["recordName"])[slot["recordName"]] is not None


def test_server_fields_on_saved_records(target, zone):
    r = save(target, zone, rec("r1", v=1))[0]
    for key in ("created", "modified"):
        assert set(r[key]) >= {"timestamp", "userRecordName", "deviceID"}
    assert r["zoneID"]["zoneName"] == zone
