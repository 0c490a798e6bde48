"""The database feed property: from any token changes/database handed out, the zones it reports
are exactly the zones created, deleted or written since, and applying them to what the reader
knew yields the current set of zones."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from dualsync.fakes.cloudkit import CloudKit

ZONES = ["za", "zb", "zc"]
step = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(ZONES)),
    st.tuples(st.just("delete"), st.sampled_from(ZONES)),
    st.tuples(st.just("write"), st.sampled_from(ZONES)),
    st.tuples(st.just("read"), st.integers(1, 3)),
)


def _zone_op(kind, name):
    return {"operations": [{"operationType": kind, "zone": {"zoneID": {"zoneName": name}}}]}


def read_all(db, token, limit):
    changed, deleted = set(), set()
    for _ in range(100):
        body = {"resultsLimit": limit, **({"syncToken": token} if token else {})}
        out = db.changes_database(body)
        for z in out["zones"]:
            name = z["zoneID"]["zoneName"]
            (deleted if z.get("deleted") else changed).add(name)
            (changed if z.get("deleted") else deleted).discard(name)
        token = out["syncToken"]
        if not out["moreComing"]:
            return changed, deleted, token
    raise AssertionError("moreComing never ended")


@settings(max_examples=150, deadline=None, database=None)
@given(steps=st.lists(step, max_size=30))
def test_database_feed_reports_every_zone_change_since_any_token(steps):
    db = CloudKit().db("alice")
    handed_out = []    # (token, zones touched after it was handed out, zones the reader knew)
    known, token, n = {"_defaultZone"}, None, 0
    touched_since: list[set] = []
    for kind, arg in steps:
        if kind == "read":
            changed, deleted, token = read_all(db, token, arg)
            known = (known | changed) - deleted
            assert known == set(db.zones), f"reader knows {sorted(known)}, server has {sorted(db.zones)}"
            touched_since.append(set())
            handed_out.append((token, touched_since[-1], set(known)))
            continue
        exists = arg in db.zones
        if (kind == "write" and not exists) or (kind == "create" and exists) or (kind == "delete" and not exists):
            continue   # no change: writing to or deleting a missing zone, re-saving an existing one
        if kind == "write":
            n += 1
            db.records_modify({"zoneID": {"zoneName": arg}, "operations": [
                {"operationType": "forceReplace", "record": {"recordName": f"r{n}", "recordType": "T"}}]})
        else:
            db.zones_modify(_zone_op(kind, arg))
        for touched in touched_since:
            touched.add(arg)
    assert read_all(db, None, 3)[0] == set(db.zones), "a read from nil must list every live zone"
    for tok, touched, was_known in handed_out:
        changed, deleted, _ = read_all(db, tok, 2)
        assert touched <= changed | deleted, f"zones {sorted(touched - changed - deleted)} changed unreported"
        assert (was_known | changed) - deleted == set(db.zones)
