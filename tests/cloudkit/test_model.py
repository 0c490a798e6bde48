"""Units of the model: reset, clock, copies, configuration switches, schema, query, auth."""

from __future__ import annotations

import pytest

from dualsync.fakes.cloudkit import CloudKit, CloudKitError, Config, VirtualClock
from dualsync.fakes.cloudkit.feeds import EXPIRED_REASON

ZONE = {"zoneName": "Fit"}


def make(**config) -> tuple[CloudKit, object]:
    ck = CloudKit(config=Config(**config))
    db = ck.db("alice")
    db.zones_modify({"operations": [{"operationType": "create", "zone": {"zoneID": ZONE}}]})
    return ck, db


def save(db, *ops, zone=ZONE, **extra):
    return db.records_modify({"zoneID": zone, "operations": list(ops), **extra})["records"]


def create(name, rtype="Log", **fields):
    return {"operationType": "create", "record": {"recordName": name, "recordType": rtype,
                                                  "fields": {k: {"value": v} for k, v in fields.items()}}}


def feed(db, token=None, zone=ZONE, **kw):
    entry = {"zoneID": zone, **kw}
    if token:
        entry["syncToken"] = token
    return db.changes_zone({"zones": [entry]})["zones"][0]


def test_reset_is_total_and_old_tokens_stop_verifying():
    ck, db = make()
    save(db, create("a", v=1))
    web = ck.mint_web_auth_token("alice")
    token = feed(db)["syncToken"]
    ck.inject_fault("throttle")
    ck.reset()
    assert ck.stats() == {"databases": 0, "sessions": 0, "records": 0} and ck.faults.pending() == []
    with pytest.raises(CloudKitError):
        ck.session(web)
    fresh = ck.db("alice")
    fresh.zones_modify({"operations": [{"operationType": "create", "zone": {"zoneID": ZONE}}]})
    assert feed(fresh, token)["serverErrorCode"] == "BAD_REQUEST"


def test_time_comes_from_the_injected_clock_callable_or_object():
    now = [1000.0]
    ck = CloudKit(clock=lambda: now[0])
    db = ck.db("alice")
    rec = save(db, create("a", v=1), zone=None)[0]
    assert rec["created"]["timestamp"] == 1_000_000
    now[0] = 2000.0
    again = db.records_modify({"operations": [{"operationType": "forceUpdate", "record": {"recordName": "a", "fields": {"v": {"value": 2}}}}]})
    assert again["records"][0]["modified"]["timestamp"] == 2_000_000
    assert again["records"][0]["created"]["timestamp"] == 1_000_000
    with pytest.raises(ValueError, match="no advance"):
        ck.inject_fault("delay", seconds=5)


def test_results_and_inputs_are_copies():
    ck, db = make()
    fields = {"tags": {"value": ["x"]}}
    body = {"zoneID": ZONE, "operations": [{"operationType": "create", "record": {"recordName": "a", "recordType": "Log", "fields": fields}}]}
    out = db.records_modify(body)["records"][0]
    fields["tags"]["value"].append("mutated-input")
    out["fields"]["tags"]["value"].append("mutated-output")
    assert db.records_lookup({"zoneID": ZONE, "records": [{"recordName": "a"}]})["records"][0]["fields"]["tags"]["value"] == ["x"]


def test_update_with_null_removes_a_field_and_schema_types_stick():
    ck, db = make()
    tag = save(db, create("a", v=1, note="n"))[0]["recordChangeTag"]
    upd = {"operationType": "update", "record": {"recordName": "a", "recordChangeTag": tag, "fields": {"note": {"value": None}}}}
    assert save(db, upd)[0]["fields"] == {"v": {"value": 1, "type": "INT64"}}
    bad = save(db, create("b", v="one"), atomic=False)[0]
    assert bad["serverErrorCode"] == "BAD_REQUEST" and "INT64" in bad["reason"]


def test_create_existing_code_is_configurable_and_conflicts_carry_the_record():
    ck, db = make(create_existing_code="CONFLICT")
    save(db, create("a", v=1))
    err = save(db, create("a", v=2))[0]
    assert err["serverErrorCode"] == "CONFLICT" and err["serverRecord"]["fields"]["v"]["value"] == 1


def test_device_id_comes_from_the_session():
    ck, db = make()
    token = ck.mint_web_auth_token("alice", device="iphone-A")
    device = ck.session(token).device
    rec = db.records_modify({"zoneID": ZONE, "operations": [create("a", v=1)]}, device=device)["records"][0]
    assert rec["modified"]["deviceID"] == "iphone-A"
    assert ck.session(ck.rotate(token)).device == "iphone-A"


def test_zone_recreated_expires_old_tokens_with_the_configured_code():
    ck, db = make(expired_token_code="CHANGE_TOKEN_EXPIRED")
    save(db, create("a", v=1))
    token = feed(db)["syncToken"]
    for kind in ("delete", "create"):
        db.zones_modify({"operations": [{"operationType": kind, "zone": {"zoneID": ZONE}}]})
    out = feed(db, token)
    assert out["serverErrorCode"] == "CHANGE_TOKEN_EXPIRED" and out["reason"] == EXPIRED_REASON
    with pytest.raises(CloudKitError) as e:
        db.records_changes({"zoneID": ZONE, "syncToken": token})
    assert e.value.status == 400


def test_database_token_expiry_forced_for_all():
    ck, db = make()
    token = db.changes_database({})["syncToken"]
    ck.expire_sync_tokens()
    with pytest.raises(CloudKitError) as e:
        db.changes_database({"syncToken": token})
    assert e.value.code == "BAD_REQUEST" and "expired" in e.value.reason


def test_default_zone_feed_when_enabled_and_tombstone_type_flag():
    ck, db = make(default_zone_changes=True, tombstone_record_type=True)
    save(db, create("a", v=1), zone=None)
    token = feed(db, zone={"zoneName": "_defaultZone"})["syncToken"]
    db.records_modify({"operations": [{"operationType": "forceDelete", "record": {"recordName": "a"}}]})
    (tomb,) = feed(db, token, zone={"zoneName": "_defaultZone"})["records"]
    assert tomb == {"recordName": "a", "deleted": True, "recordType": "Log", "zoneID": tomb["zoneID"]}


def test_shuffled_order_keeps_pages_exact():
    ck, db = make(change_order="shuffled")
    save(db, *[create(f"r{i:02d}", v=i) for i in range(30)])
    seen, token, orders = [], None, []
    while True:
        page = feed(db, token, resultsLimit=10)
        names = [r["recordName"] for r in page["records"]]
        orders.append(names)
        seen += names
        token = page["syncToken"]
        if not page["moreComing"]:
            break
    assert sorted(seen) == [f"r{i:02d}" for i in range(30)]
    assert any(o != sorted(o) for o in orders), "shuffled mode never shuffled"


def test_desired_keys_and_record_types():
    ck, db = make()
    save(db, create("a", "Log", v=1, w=2), create("b", "Photo", v=3))
    page = feed(db, desiredKeys=["w"], desiredRecordTypes=["Log"])
    assert [(r["recordName"], r["fields"]) for r in page["records"]] == [("a", {"w": {"value": 2, "type": "INT64"}})]


def test_query_system_fields_in_and_foreign_marker():
    ck, db = make()
    save(db, *[create(f"q{i}", km=i) for i in range(6)])
    q = {"recordType": "Log", "filterBy": [{"fieldName": "km", "comparator": "IN", "fieldValue": {"value": [1, 3, 5]}}],
         "sortBy": [{"fieldName": "___recordID", "ascending": False}]}
    out = db.records_query({"zoneID": ZONE, "query": q, "resultsLimit": 2})
    assert [r["recordName"] for r in out["records"]] == ["q5", "q3"]
    other = {"recordType": "Log"}
    with pytest.raises(CloudKitError) as e:
        db.records_query({"zoneID": ZONE, "query": other, "continuationMarker": out["continuationMarker"]})
    assert e.value.code == "BAD_REQUEST"
    with pytest.raises(CloudKitError) as e:
        db.records_query({"zoneID": ZONE, "query": {"recordType": "Log", "filterBy": [
            {"fieldName": "km", "comparator": "NEAR", "fieldValue": {"value": 1}}]}})
    assert e.value.code == "NOT_IMPLEMENTED"


def test_users_and_tokens():
    ck = CloudKit()
    assert ck.user_record_name("a") == ck.user_record_name("a") != ck.user_record_name("b")
    assert ck.user_record_name("a").startswith("_")
    with pytest.raises(ValueError):
        ck.mint_web_auth_token("")
    with pytest.raises(CloudKitError) as e:
        ck.session(None)
    assert e.value.status == 421 and e.value.redirect_url


@pytest.mark.parametrize("bad", [dict(web_auth_token_rotation="sometimes"), dict(change_order="random"),
                                 dict(atomic_failure_status=500), dict(max_operations=0)])
def test_config_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        Config(**bad)


@pytest.mark.parametrize("kind,opts", [("meteor", {}), ("error", {"code": "WHATEVER"}), ("delay", {"seconds": -1}),
                                       ("throttle", {"times": 0})])
def test_faults_reject_nonsense(kind, opts):
    with pytest.raises(ValueError):
        CloudKit().inject_fault(kind, **opts)


def test_container_id_is_checked():
    with pytest.raises(ValueError, match="iCloud."):
        CloudKit("com.example")


def test_virtual_clock_refuses_to_go_back():
    with pytest.raises(ValueError):
        VirtualClock().advance(-1)


def test_dump_and_commit_events_for_the_harness():
    ck = CloudKit()
    events = []
    ck.commit_listeners.append(events.append)
    db = ck.db("alice")
    db.zones_modify({"operations": [{"operationType": "create", "zone": {"zoneID": ZONE}}]})
    token = ck.mint_web_auth_token("alice", device="ipad")
    saved = db.records_modify({"zoneID": ZONE, "operations": [create("a", v=1), create("b", v=2)]},
                              device=ck.session(token).device)["records"]
    save(db, {"operationType": "forceDelete", "record": {"recordName": "b"}})
    save(db, {"operationType": "forceDelete", "record": {"recordName": "never-was"}})   # no commit
    assert [(e["kind"], e.get("recordName")) for e in events] == [
        ("zone_create", None), ("zone_create", None), ("save", "a"), ("save", "b"), ("delete", "b")]
    assert events[2]["device"] == "ipad" and events[2]["user"] == "alice"
    assert events[2]["recordChangeTag"] == saved[0]["recordChangeTag"]
    assert ck.dump("alice") == {"_defaultZone": {}, "Fit": {"a": {
        "recordType": "Log", "recordChangeTag": saved[0]["recordChangeTag"], "fields": {"v": 1},
        "modified": saved[0]["modified"]["timestamp"], "deviceID": "ipad"}}}
    ck.reset()
    assert ck.commit_listeners == [events.append], "listeners are wiring and survive a reset"
