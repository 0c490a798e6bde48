"""Per-record faults through the control plane (`POST /_control/record-faults`): one named record's
operation fails inside a 200, the rest of a non-atomic batch proceeds, an atomic zone batch fails
whole. On the loopback target every control call goes over HTTP, as a test driving the standalone
server makes it; a real container has no control plane and skips these."""

from __future__ import annotations

import pytest

from .helpers import lookup, modify, op, rec, save, values


def record_fault(target, **body) -> dict:
    return target.control("POST", "record-faults", **body)


def test_a_named_record_fails_and_the_rest_of_a_non_atomic_batch_is_saved(target, zone):
    target.need_control("per-record faults")
    record_fault(target, zoneName=zone, recordName="b", serverErrorCode="TRY_AGAIN_LATER", retryAfter=2.5)
    resp = modify(target, zone, op("create", rec("a", v=1)), op("create", rec("b", v=2)),
                  op("create", rec("c", v=3)), atomic=False)
    assert resp.status_code == 200
    a, b, c = resp.json()["records"]
    assert b == {"recordName": "b", "serverErrorCode": "TRY_AGAIN_LATER", "reason": b["reason"], "retryAfter": 2.5}
    assert values(a) == {"v": 1} and values(c) == {"v": 3}
    stored = lookup(target, zone, "a", "b", "c")
    assert stored["b"] is None and values(stored["a"]) == {"v": 1} and values(stored["c"]) == {"v": 3}
    retry = modify(target, zone, op("create", rec("b", v=2)), atomic=False).json()["records"][0]
    assert values(retry) == {"v": 2}                      # once: the retry goes through


def test_in_an_atomic_zone_batch_the_named_record_fails_the_whole_batch(target, zone):
    target.need_control("per-record faults")
    record_fault(target, zoneName=zone, recordName="b", serverErrorCode="ZONE_BUSY")
    resp = modify(target, zone, op("create", rec("a", v=1)), op("create", rec("b", v=2)),
                  op("create", rec("c", v=3)))                    # a custom zone's batch is atomic
    assert resp.status_code == 200
    codes = [r["serverErrorCode"] for r in resp.json()["records"]]
    assert codes == ["ATOMIC_ERROR", "ZONE_BUSY", "ATOMIC_ERROR"]
    assert resp.json()["records"][1]["retryAfter"] == 1.0        # a retryable code gets CloudKit's default
    assert lookup(target, zone, "a", "b", "c") == {"a": None, "b": None, "c": None}


def test_operation_type_and_times_narrow_the_fault_and_a_conflict_carries_the_server_record(target, zone):
    target.need_control("per-record faults")
    saved = save(target, zone, rec("a", v=1))[0]
    record_fault(target, zone=zone, record="a", operation="update", code="CONFLICT", times=2)
    for _ in range(2):
        item = modify(target, zone, op("update", rec("a", tag=saved["recordChangeTag"], v=2))).json()["records"][0]
        assert item["serverErrorCode"] == "CONFLICT"
        assert item["serverRecord"]["recordChangeTag"] == saved["recordChangeTag"]
        assert values(item["serverRecord"]) == {"v": 1}
    other = modify(target, zone, op("forceUpdate", rec("a", v=5))).json()["records"][0]   # not an update
    assert values(other) == {"v": 5}
    state = target.control("GET", "state")
    assert state["record_faults"] == [] and [f[1:] for f in state["record_faults_fired"]] == [["CONFLICT", "a"]] * 2
    final = modify(target, zone, op("update", rec("a", tag=other["recordChangeTag"], v=6))).json()["records"][0]
    assert values(final) == {"v": 6}                       # two times, then the fault is spent


def test_a_fault_for_one_user_or_zone_spares_the_others_and_can_be_cleared(target, zone):
    target.need_control("per-record faults")
    record_fault(target, zoneName=zone, recordName="a", serverErrorCode="QUOTA_EXCEEDED", user="bob", times=None)
    assert values(modify(target, zone, op("create", rec("a", v=1))).json()["records"][0]) == {"v": 1}
    target.ok("zones/modify", {"operations": [{"operationType": "create", "zone": {"zoneID": {"zoneName": zone}}}]},
              user="bob")
    for _ in range(2):     # until cleared
        item = modify(target, zone, op("create", rec("a", v=1)), user="bob").json()["records"][0]
        assert item["serverErrorCode"] == "QUOTA_EXCEEDED" and "retryAfter" not in item
    assert target.control("DELETE", "record-faults") == {"cleared": True}
    assert values(modify(target, zone, op("create", rec("a", v=1)), user="bob").json()["records"][0]) == {"v": 1}


BAD = [
    ({"recordName": "a", "serverErrorCode": "SERVER_RECORD_CHANGED"}, "unknown per-record serverErrorCode"),
    ({"recordName": "a", "serverErrorCode": "AUTHENTICATION_FAILED"}, "unknown per-record serverErrorCode"),
    ({"recordName": "_hidden", "serverErrorCode": "ZONE_BUSY"}, "must not start with '_'"),
    ({"recordName": "", "serverErrorCode": "ZONE_BUSY"}, "record must be a non-empty string"),
    ({"recordName": 7, "serverErrorCode": "ZONE_BUSY"}, "record must be a non-empty string"),
    ({"recordName": "a", "serverErrorCode": "ZONE_BUSY", "zoneName": "_x"}, "zone '_x' must not start"),
    ({"recordName": "a", "serverErrorCode": "ZONE_BUSY", "operationType": "upsert"}, "unknown operationType"),
    ({"recordName": "a", "serverErrorCode": "ZONE_BUSY", "times": 0}, "times must be"),
    ({"recordName": "a", "serverErrorCode": "ZONE_BUSY", "retryAfter": "soon"}, "retryAfter must be"),
    ({"recordName": "a", "serverErrorCode": "ZONE_BUSY", "colour": "red"}, "unknown key(s) 'colour'"),
    ({"recordName": "a", "record": "b", "serverErrorCode": "ZONE_BUSY"}, "given twice"),
    ({"serverErrorCode": "ZONE_BUSY"}, "needs recordName"),
    ({"recordName": "a"}, "needs serverErrorCode"),
]


@pytest.mark.parametrize("body,message", BAD, ids=[m for _, m in BAD])
def test_bad_record_faults_are_a_clear_400_and_queue_nothing(cloudkit_server, body, message):
    import httpx
    control = cloudkit_server.base_url + "/_control/"
    resp = httpx.post(control + "record-faults", json=body)
    assert resp.status_code == 400, resp.text
    assert message in resp.json()["error"]
    assert httpx.get(control + "state").json()["record_faults"] == []
