"""Zones, records/query, and the faults the control plane injects."""

from __future__ import annotations

import httpx
import pytest

from .helpers import fetch_all, lookup, modify, op, rec, save, values


def _zone_op(kind, name):
    return {"operationType": kind, "zone": {"zoneID": {"zoneName": name}}}


def test_zones_list_lookup_modify(target, zone):
    listed = {z["zoneID"]["zoneName"] for z in target.ok("zones/list", method="GET")["zones"]}
    assert {"_defaultZone", zone} <= listed
    found = target.ok("zones/lookup", {"zones": [{"zoneName": zone}, {"zoneName": "nosuch"}]})["zones"]
    assert found[0]["zoneID"]["zoneName"] == zone and found[0]["syncToken"]
    assert found[1]["serverErrorCode"] == "ZONE_NOT_FOUND"
    gone = target.ok("zones/modify", {"operations": [_zone_op("delete", "nosuch")]})["zones"][0]
    assert gone["serverErrorCode"] == "ZONE_NOT_FOUND"


def test_deleting_a_zone_deletes_its_records(target, zone):
    save(target, zone, rec("a", v=1))
    target.ok("zones/modify", {"operations": [_zone_op("delete", zone)]})
    target.ok("zones/modify", {"operations": [_zone_op("create", zone)]})
    assert fetch_all(target, zone)[0] == {}


def test_query_filter_sort_and_continuation(target, zone):
    save(target, zone, *[rec(f"q{i}", "Cardio", km=i, kind="run" if i % 2 else "walk") for i in range(9)])
    save(target, zone, rec("other", "DailyLog", km=100))
    query = {"recordType": "Cardio",
             "filterBy": [{"fieldName": "kind", "comparator": "EQUALS", "fieldValue": {"value": "run"}},
                          {"fieldName": "km", "comparator": "GREATER_THAN", "fieldValue": {"value": 1}}],
             "sortBy": [{"fieldName": "km", "ascending": False}]}
    body = {"zoneID": {"zoneName": zone}, "query": query, "resultsLimit": 2}
    first = target.ok("records/query", body)
    assert [values(r)["km"] for r in first["records"]] == [7, 5]
    second = target.ok("records/query", {**body, "continuationMarker": first["continuationMarker"]})
    assert [values(r)["km"] for r in second["records"]] == [3]
    assert "continuationMarker" not in second


def test_throttled_with_retry_after_changes_nothing(target, zone):
    target.need_control("fault injection")
    target.fault("throttle", op="records/modify", retry_after=7)
    resp = modify(target, zone, op("create", rec("a", v=1)))
    assert resp.status_code == 429
    assert resp.json()["serverErrorCode"] == "THROTTLED" and resp.json()["retryAfter"] == 7
    assert resp.headers["retry-after"] == "7"
    assert lookup(target, zone, "a")["a"] is None
    assert modify(target, zone, op("create", rec("a", v=1))).status_code == 200   # the retry works


def test_try_again_later_and_zone_busy(target, zone):
    target.need_control("fault injection")
    target.fault("try_again_later", op="changes/zone", retry_after=2, times=2)
    for _ in range(2):
        resp = target.call("changes/zone", {"zones": [{"zoneID": {"zoneName": zone}}]})
        assert resp.status_code == 503 and resp.json()["serverErrorCode"] == "TRY_AGAIN_LATER"
    assert target.call("changes/zone", {"zones": [{"zoneID": {"zoneName": zone}}]}).status_code == 200


def test_lost_reply_commits_the_write(target, zone):
    target.need_control("fault injection")
    target.fault("lose_reply", op="records/modify")
    with pytest.raises(httpx.TransportError):
        modify(target, zone, op("create", rec("a", v=1)))
    assert values(lookup(target, zone, "a")["a"]) == {"v": 1}
    retry = modify(target, zone, op("create", rec("a", v=1))).json()["records"][0]
    assert retry["serverErrorCode"] == "EXISTS"      # the naive retry meets its own write


def test_dropped_request_changes_nothing(target, zone):
    target.need_control("fault injection")
    target.fault("drop", op="records/modify")
    with pytest.raises(httpx.TransportError):
        modify(target, zone, op("create", rec("a", v=1)))
    assert lookup(target, zone, "a")["a"] is None


def test_delay_moves_the_clock_not_the_wall(target, zone):
    target.need_control("fault injection")
    before = target.control("GET", "clock")["now"]
    target.fault("delay", op="records/modify", seconds=90)
    saved = modify(target, zone, op("create", rec("a", v=1))).json()["records"][0]
    assert target.control("GET", "clock")["now"] == before + 90
    assert saved["modified"]["timestamp"] == int((before + 90) * 1000)


def test_user_deleted_zone(target, zone):
    target.need_control("a user deleting a zone")
    _, db_token = None, target.ok("changes/database", {})["syncToken"]
    target.control("POST", "delete-zone", user="alice", zone=zone)
    resp = modify(target, zone, op("create", rec("a", v=1)))
    assert resp.status_code == 404 and resp.json()["serverErrorCode"] == "ZONE_NOT_FOUND"
    changed = target.ok("changes/database", {"syncToken": db_token})["zones"]
    assert changed == [{"zoneID": {"zoneName": zone, "ownerRecordName": changed[0]["zoneID"]["ownerRecordName"]},
                        "deleted": True, "purged": True}]


def test_injected_per_user_fault_spares_other_users(target, zone):
    target.need_control("fault injection")
    target.fault("throttle", user="bob", times=None)
    assert target.call("zones/list", method="GET").status_code == 200
    assert target.call("zones/list", method="GET", user="bob").status_code == 429
