"""The change-feed property: for any modify sequence from several clients and any page size,
replaying the feed from nil, or from any token the fake handed out onto the state the reader
had then, yields exactly the current server state (nothing missing, nothing stale, deletes applied)."""

from __future__ import annotations

import copy

from hypothesis import given, settings, strategies as st

from dualsync.fakes.cloudkit import CloudKit
from dualsync.fakes.cloudkit.modify import OP_TYPES

NAMES = [f"r{i}" for i in range(6)]
ZONE = {"zoneName": "Z"}

an_op = st.tuples(st.sampled_from(OP_TYPES), st.sampled_from(NAMES),
                  st.sampled_from(["known", "none", "bogus"]), st.integers(0, 99),
                  st.sampled_from(["a", "b"]))
write = st.tuples(st.just("write"), st.integers(0, 2),
                  st.lists(an_op, min_size=1, max_size=3, unique_by=lambda o: o[1]), st.booleans())
page = st.tuples(st.just("page"), st.integers(0, 1), st.integers(1, 4))
steps = st.lists(st.one_of(write, write, page), max_size=40)


class Client:
    """A device that remembers the tags its own saves returned (so it goes stale naturally)."""

    def __init__(self, db, device):
        self.db, self.device, self.tags = db, device, {}

    def write(self, ops, atomic):
        body = {"zoneID": ZONE, "atomic": atomic, "operations": [self._op(*o) for o in ops]}
        for slot in self.db.records_modify(body, device=self.device)["records"]:
            if "recordChangeTag" in slot:
                self.tags[slot["recordName"]] = slot["recordChangeTag"]

    def _op(self, kind, name, tagmode, value, field):
        record = {"recordName": name, "recordType": "Log"}
        tag = {"known": self.tags.get(name), "bogus": "feedface", "none": None}[tagmode]
        if tag is not None:
            record["recordChangeTag"] = tag
        if "elete" not in kind:
            record["fields"] = {field: {"value": value}}
        return {"operationType": kind, "record": record}


def fetch_page(db, token, limit):
    entry = {"zoneID": ZONE, "resultsLimit": limit}
    if token is not None:
        entry["syncToken"] = token
    (out,) = db.changes_zone({"zones": [entry]})["zones"]
    assert "serverErrorCode" not in out, out
    return out


def apply(state, page):
    names = [r["recordName"] for r in page["records"]]
    assert len(names) == len(set(names)), f"a record twice in one page: {names}"
    for r in page["records"]:
        if r["deleted"]:
            assert "fields" not in r
            state.pop(r["recordName"], None)
        else:
            state[r["recordName"]] = {k: v["value"] for k, v in r["fields"].items()}


def replay(db, token, state, limit):
    state = copy.deepcopy(state)
    for _ in range(1000):
        out = fetch_page(db, token, limit)
        apply(state, out)
        token = out["syncToken"]
        if not out["moreComing"]:
            assert fetch_page(db, token, limit)["records"] == [], "a caught-up token still had changes"
            return state
        assert out["records"], "moreComing with an empty page"
    raise AssertionError("moreComing never ended")


def server_state(db):
    zone = db.zones["Z"]
    return {n: {k: v for k, (_, v) in r.fields.items()} for n, r in zone.records.items() if not r.deleted}


@settings(max_examples=200, deadline=None, database=None)
@given(steps=steps, replay_limit=st.integers(1, 7))
def test_feed_replay_from_any_handed_out_token_is_the_server_state(steps, replay_limit):
    ck = CloudKit()
    db = ck.db("alice")
    db.zones_modify({"operations": [{"operationType": "create", "zone": {"zoneID": ZONE}}]})
    clients = [Client(db, f"device-{i}") for i in range(3)]
    readers = [{"token": None, "state": {}} for _ in range(2)]
    handed_out = [(None, {})]
    for step in steps:
        if step[0] == "write":
            clients[step[1]].write(step[2], step[3])
        else:
            reader = readers[step[1]]
            out = fetch_page(db, reader["token"], step[2])
            apply(reader["state"], out)
            reader["token"] = out["syncToken"]
            handed_out.append((reader["token"], copy.deepcopy(reader["state"])))
    truth = server_state(db)
    for token, state in handed_out:
        assert replay(db, token, state, replay_limit) == truth
