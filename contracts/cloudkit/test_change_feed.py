"""changes/zone, records/changes and changes/database: paging, latest state once, tombstones, expiry."""

from __future__ import annotations

from .helpers import apply_page, fetch_all, fetch_page, lookup, modify, op, rec, save, values


def _server_state(target, zone, names):
    return {n: values(r) for n, r in lookup(target, zone, *names).items() if r is not None}


def test_full_fetch_from_nil_is_the_current_state(target, zone):
    save(target, zone, *[rec(f"r{i}", v=i) for i in range(7)])
    save(target, zone, rec("r3", v=33))
    modify(target, zone, op("forceDelete", rec("r5")))
    state, _, pages = fetch_all(target, zone)
    assert pages == 1
    assert state == _server_state(target, zone, [f"r{i}" for i in range(7)])


def test_paging_three_pages_with_writes_landing_between_pages(target, zone):
    names = [f"r{i:02d}" for i in range(10)]
    save(target, zone, *[rec(n, v=0) for n in names])
    state: dict = {}
    page = fetch_page(target, zone, limit=3)
    apply_page(state, page)
    assert page["moreComing"] is True and len(page["records"]) == 3
    delivered = page["records"][0]["recordName"]
    save(target, zone, rec(delivered, v=1), rec("late", v=1))           # one seen, one new
    modify(target, zone, op("forceDelete", rec(names[-1])))               # one not yet seen
    token, pages = page["syncToken"], 1
    while True:
        page = fetch_page(target, zone, token, limit=3)
        apply_page(state, page)
        token, pages = page["syncToken"], pages + 1
        if pages == 2:
            save(target, zone, rec(names[4], v=2))                        # a write mid-walk
        if not page["moreComing"]:
            break
    assert pages >= 3
    assert state == _server_state(target, zone, names + ["late"])
    again = fetch_page(target, zone, token)
    assert again["records"] == [] and again["moreComing"] is False


def test_each_record_once_in_latest_state(target, zone):
    save(target, zone, rec("a", v=1))
    _, token, _ = fetch_all(target, zone)
    for v in range(2, 6):
        save(target, zone, rec("a", v=v))
    page = fetch_page(target, zone, token)
    assert [r["recordName"] for r in page["records"]] == ["a"]
    assert values(page["records"][0]) == {"v": 5}


def test_tombstones_carry_no_fields(target, zone):
    save(target, zone, rec("a", v=1), rec("b", v=1))
    _, token, _ = fetch_all(target, zone)
    modify(target, zone, op("forceDelete", rec("a")))
    page = fetch_page(target, zone, token)
    (tomb,) = page["records"]
    assert tomb["recordName"] == "a" and tomb["deleted"] is True
    assert "fields" not in tomb and "recordChangeTag" not in tomb
    state, _, _ = fetch_all(target, zone)
    assert "a" not in state and "b" in state, "a deleted record must never come back live"


def test_created_then_deleted_after_token_is_never_live(target, zone):
    _, token, _ = fetch_all(target, zone)
    save(target, zone, rec("ghost", v=1))
    modify(target, zone, op("forceDelete", rec("ghost")))
    page = fetch_page(target, zone, token)
    assert all(r.get("deleted") for r in page["records"] if r["recordName"] == "ghost")


def test_recreate_after_delete_comes_back(target, zone):
    save(target, zone, rec("a", v=1))
    _, token, _ = fetch_all(target, zone)
    modify(target, zone, op("forceDelete", rec("a")))
    modify(target, zone, op("create", rec("a", v=2)))
    state, _, _ = fetch_all(target, zone, token, state={"a": {"v": 1}})
    assert state == {"a": {"v": 2}}


def test_token_expiry_then_full_refetch_recovers_everything(target, zone):
    target.need_control("forcing token expiry")
    save(target, zone, *[rec(f"r{i}", v=i) for i in range(5)])
    state, token, _ = fetch_all(target, zone, limit=2)
    save(target, zone, rec("r1", v=11), rec("r9", v=9))
    modify(target, zone, op("forceDelete", rec("r0")))
    target.control("POST", "expire-sync-tokens", user="alice", zone=zone)
    page = fetch_page(target, zone, token)
    assert page["serverErrorCode"] == "BAD_REQUEST" and "expired" in page["reason"]
    fresh, _, _ = fetch_all(target, zone, limit=2)          # refetch from nil
    assert fresh == _server_state(target, zone, [f"r{i}" for i in range(10)])


def test_token_horizon_expires_old_tokens(target, zone):
    target.need_control("moving the clock")
    target.control("POST", "config", token_horizon=3600, web_auth_token_ttl=None)
    _, token, _ = fetch_all(target, zone)
    target.control("POST", "clock", advance=3599)
    assert "serverErrorCode" not in fetch_page(target, zone, token)
    _, token, _ = fetch_all(target, zone)
    target.control("POST", "clock", advance=3601)
    assert fetch_page(target, zone, token)["serverErrorCode"] == "BAD_REQUEST"


def test_bad_and_foreign_tokens_are_rejected(target, zone):
    bad = fetch_page(target, zone, "not-a-token")
    assert bad["serverErrorCode"] == "BAD_REQUEST"
    other = target.call("zones/modify", {"operations": [{"operationType": "create",
                                                        "zone": {"zoneID": {"zoneName": zone + "b"}}}]})
    assert other.status_code == 200
    _, token_b, _ = fetch_all(target, zone + "b")
    assert fetch_page(target, zone, token_b)["serverErrorCode"] == "BAD_REQUEST"


def test_records_changes_single_zone_feed(target, zone):
    save(target, zone, *[rec(f"r{i}", v=i) for i in range(5)])
    body = {"zoneID": {"zoneName": zone}, "resultsLimit": 2}
    seen, pages = {}, 0
    while True:
        out = target.ok("records/changes", body)
        apply_page(seen, out)
        pages += 1
        if not out["moreComing"]:
            break
        body["syncToken"] = out["syncToken"]
    assert pages == 3 and len(seen) == 5


def test_default_zone_has_no_change_feed(target):
    out = target.ok("changes/zone", {"zones": [{"zoneID": {"zoneName": "_defaultZone"}}]})["zones"][0]
    assert out["serverErrorCode"] == "BAD_REQUEST"


def test_unknown_zone_is_a_zone_error(target):
    out = target.ok("changes/zone", {"zones": [{"zoneID": {"zoneName": "nosuchzone"}}]})["zones"][0]
    assert out["serverErrorCode"] == "ZONE_NOT_FOUND"


def test_database_changes_report_changed_and_deleted_zones(target, zone):
    first = target.ok("changes/database", {})
    token = first["syncToken"]
    assert zone in {z["zoneID"]["zoneName"] for z in first["zones"]}
    assert target.ok("changes/database", {"syncToken": token})["zones"] == []
    save(target, zone, rec("a", v=1))
    changed = target.ok("changes/database", {"syncToken": token})
    assert [z["zoneID"]["zoneName"] for z in changed["zones"]] == [zone]
    target.ok("zones/modify", {"operations": [{"operationType": "delete", "zone": {"zoneID": {"zoneName": zone}}}]})
    gone = target.ok("changes/database", {"syncToken": changed["syncToken"]})["zones"]
    assert gone[0]["zoneID"]["zoneName"] == zone and gone[0].get("deleted") is True


def test_undeliverable_record_is_an_error_slot_and_the_token_moves_past_it(target, zone):
    target.need_control("marking a record undeliverable")
    save(target, zone, rec("a", v=1), rec("b", v=1), rec("c", v=1))
    target.control("POST", "undeliverable", user="alice", zone=zone, record="b")
    page = fetch_page(target, zone)
    slots = {r["recordName"]: r for r in page["records"]}
    assert slots["b"]["serverErrorCode"] and "fields" not in slots["b"]
    assert values(slots["a"]) == {"v": 1} and page["moreComing"] is False
    assert fetch_page(target, zone, page["syncToken"])["records"] == [], "the token moved past b for good"
    save(target, zone, rec("b", v=2))                                # a new save heals it
    assert values(fetch_page(target, zone, page["syncToken"])["records"][0]) == {"v": 2}
