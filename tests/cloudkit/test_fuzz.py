"""At least 2,000 malformed requests over the HTTP surface: never a 5xx, never a traceback, always
a CloudKit-shaped error (or a 200 whose bad items carry their own errors), and nothing stored changes."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings, strategies as st

from dualsync.fakes.cloudkit import CloudKit
from dualsync.fakes.cloudkit.modify import OP_TYPES
from dualsync.fakes.cloudkit.wire import asgi_app

from .asgi import call

API = "fake-ck-api-token"
BASE = "/database/1/iCloud.com.example.fit/development/private/"
POST_OPS = ["records/modify", "records/lookup", "records/query", "records/changes", "changes/zone",
            "changes/database", "zones/lookup", "zones/modify", "zones/list"]

# Two levels deep and filter-free: generation cost, not the fake, dominates a fuzz run.
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(), st.text(max_size=12))
non_str_scalars = st.one_of(st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats())
lists = st.lists(scalars, max_size=3)
dicts = st.dictionaries(st.text(max_size=6), scalars, max_size=3)
non_dict = st.one_of(scalars, lists)
json_values = st.one_of(scalars, lists, dicts)
bad_names = st.one_of(st.just(""), st.just("_system"), st.text(min_size=256, max_size=300),
                      st.just("naïve"), st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2))
bad_fields = st.one_of(
    st.one_of(non_str_scalars, st.text(max_size=5), lists),
    st.fixed_dictionaries({"f": st.one_of(non_dict, st.just({"type": "STRING"}))}),
    st.fixed_dictionaries({"ok": st.just({"value": 1}), "f": non_dict}),
    # "%" keeps the string from being valid base64 (an empty or 4-letter one is valid BYTES).
    st.fixed_dictionaries({"f": st.fixed_dictionaries({"value": st.text(max_size=5).map(lambda t: "%" + t),
                                                      "type": st.sampled_from(["INT64", "DOUBLE", "BYTES", "REFERENCE", "NOPE"])})}),
    st.fixed_dictionaries({"f": st.fixed_dictionaries({"value": st.booleans()})}),
    st.fixed_dictionaries({"_f": st.fixed_dictionaries({"value": st.integers()})}),
)


def good_op(i: int) -> dict:
    return {"operationType": "create", "record": {"recordName": f"fresh{i}", "recordType": "Log",
                                                  "fields": {"v": {"value": i}}}}


@st.composite
def bad_op(draw) -> dict:
    which = draw(st.sampled_from(["type", "record", "name", "fields", "fields", "fields", "tag", "rtype"]))
    kind = draw(st.sampled_from(OP_TYPES))
    record = {"recordName": "fresh-bad", "recordType": "Log", "recordChangeTag": "t"}
    if which == "type":
        kind = draw(st.one_of(non_str_scalars, st.sampled_from(["upsert", "Create", "", "delete "])))
    elif which == "record":
        return {"operationType": kind, "record": draw(non_dict)}
    elif which == "name":
        record["recordName"] = draw(bad_names.filter(lambda v: not (v is None and kind == "create")))
    elif which == "fields":
        kind = draw(st.sampled_from(["create", "update", "forceUpdate", "replace", "forceReplace"]))
        record["fields"] = draw(bad_fields)
    elif which == "tag":
        record["recordChangeTag"] = draw(st.one_of(non_str_scalars, lists, dicts))
    else:
        kind = draw(st.sampled_from(["create", "forceUpdate", "replace", "forceReplace"]))
        record["recordType"] = draw(bad_names.filter(lambda v: v is not None))
    return {"operationType": kind, "record": record}


@st.composite
def bad_batch(draw) -> dict:
    ops = [good_op(i) for i in range(draw(st.integers(0, 3)))]
    shape = draw(st.sampled_from(["bad-op", "duplicate", "over-limit", "atomic-type", "zone"]))
    if shape == "bad-op":
        ops.insert(draw(st.integers(0, len(ops))), draw(bad_op()))
    elif shape == "duplicate":
        ops += [good_op(0), {"operationType": "forceDelete", "record": {"recordName": "fresh0"}}]
    elif shape == "over-limit":
        ops = [good_op(i) for i in range(201)]
    body = {"zoneID": {"zoneName": "Fit"}, "operations": ops}
    if shape == "atomic-type":
        body["atomic"] = draw(st.one_of(st.integers(), st.text(max_size=4), lists, dicts))
    if shape == "zone":
        body["zoneID"] = draw(st.one_of(non_str_scalars, st.text(max_size=4), lists, dicts,
                                        st.fixed_dictionaries({"zoneName": st.sampled_from(["nosuch", "_x", ""])})))
    return {"op": "records/modify", "body": json.dumps(body).encode()}


@st.composite
def wrong_envelope(draw) -> dict:
    op = draw(st.sampled_from(["records/modify", "records/lookup", "records/query", "records/changes",
                               "changes/zone", "zones/lookup", "zones/modify"]))
    key = {"records/modify": "operations", "records/lookup": "records", "records/query": "query",
           "records/changes": "zoneID", "changes/zone": "zones", "zones/lookup": "zones",
           "zones/modify": "operations"}[op]
    value = draw(st.one_of(non_str_scalars, st.text(max_size=6)))
    body = draw(dicts)
    body[key] = value
    return {"op": op, "body": json.dumps(body).encode()}


OPTION_BODIES = {
    "records/query": {"zoneID": {"zoneName": "Fit"}, "query": {"recordType": "Log"}},
    "records/lookup": {"zoneID": {"zoneName": "Fit"}, "records": [{"recordName": "fresh100"}]},
    "records/modify": {"zoneID": {"zoneName": "Fit"}, "operations": []},
    "changes/zone": {"zones": [{"zoneID": {"zoneName": "Fit"}}]},
    "records/changes": {"zoneID": {"zoneName": "Fit"}},
    "changes/database": {},
    "zones/lookup": {"zones": [{"zoneName": "Fit"}]},
}
OPTIONS = ["desiredKeys", "resultsLimit", "zoneWide", "numbersAsStrings", "atomic", "continuationMarker",
           "desiredRecordTypes", "reverse", "syncToken", "zoneID"]


@st.composite
def bad_option(draw) -> dict:
    """A valid request that changes nothing, with one option set to garbage."""
    op = draw(st.sampled_from(sorted(OPTION_BODIES)))
    body = json.loads(json.dumps(OPTION_BODIES[op]))
    target = body["zones"][0] if op == "changes/zone" and draw(st.booleans()) else body
    target[draw(st.sampled_from(OPTIONS))] = draw(st.one_of(non_str_scalars, st.text(max_size=6), lists, dicts))
    return {"op": op, "body": json.dumps(body).encode()}


@st.composite
def raw_body(draw) -> dict:
    body = draw(st.one_of(st.binary(max_size=80), non_dict.map(lambda v: json.dumps(v).encode())))
    op = draw(st.sampled_from(POST_OPS))
    return {"op": op, "body": body}


@st.composite
def bad_token(draw, real_tokens) -> dict:
    token = draw(st.one_of(st.text(max_size=60), json_values,
                           st.sampled_from(real_tokens).flatmap(
                               lambda t: st.integers(0, len(t) - 1).map(lambda i: t[:i] + ("B" if t[i] == "A" else "A") + t[i + 1:]))))
    where = draw(st.sampled_from(["changes/zone", "records/changes", "changes/database", "records/query"]))
    body = {"changes/zone": {"zones": [{"zoneID": {"zoneName": "Fit"}, "syncToken": token}]},
            "records/changes": {"zoneID": {"zoneName": "Fit"}, "syncToken": token},
            "changes/database": {"syncToken": token},
            "records/query": {"zoneID": {"zoneName": "Fit"}, "query": {"recordType": "Log"}, "continuationMarker": token}}[where]
    if where != "changes/zone" and draw(st.booleans()):
        body["resultsLimit"] = draw(st.one_of(st.integers(-5, 0), st.text(max_size=3), st.booleans()))
    return {"op": where, "body": json.dumps(body).encode()}


@st.composite
def bad_query_or_lookup(draw) -> dict:
    if draw(st.booleans()):
        flt = draw(st.lists(non_dict, min_size=1, max_size=2)) if draw(st.booleans()) else [
            {"fieldName": "v", "comparator": draw(st.text(max_size=8)), "fieldValue": {"value": 1}}]
        body = {"zoneID": {"zoneName": "Fit"}, "query": {"recordType": "Log", "filterBy": flt}}
        return {"op": "records/query", "body": json.dumps(body).encode()}
    recs = draw(st.lists(st.one_of(json_values, st.fixed_dictionaries({"recordName": bad_names})), min_size=1, max_size=3))
    return {"op": "records/lookup", "body": json.dumps({"zoneID": {"zoneName": "Fit"}, "records": recs}).encode()}


@st.composite
def bad_auth_or_path(draw) -> dict:
    which = draw(st.sampled_from(["api", "web", "path", "method"]))
    req = {"op": draw(st.sampled_from(POST_OPS)), "body": b'{"zones": []}'}
    if which == "api":
        req["query"] = {"ckAPIToken": draw(st.text(max_size=20).filter(lambda t: t != API))}
    elif which == "web":
        req["query"] = {"ckAPIToken": API, "ckWebAuthToken": draw(st.text(max_size=30))}
    elif which == "path":
        req["path"] = draw(st.sampled_from(["/database/2/", "/database/1/iCloud.x/", "/", "/database/1/iCloud.com.example.fit/staging/private/",
                                            "/database/1/iCloud.com.example.fit/development/secret/", BASE + "records/"])) + draw(st.text("abc/", max_size=8))
    else:
        req["method"] = draw(st.sampled_from(["PUT", "DELETE", "PATCH", "GET"]))
        req["op"] = draw(st.sampled_from([o for o in POST_OPS if o not in ("zones/list", "changes/database")]))
    return req


def fingerprint(ck: CloudKit) -> tuple:
    """Everything a stored-state change would move: every change-log head and zone set, and the schema."""
    dbs = tuple((key, db.log.position, tuple((z.name, z.log.position, z.generation) for z in db.zones.values()))
                for key, db in sorted(ck.databases.items()))
    return dbs, json.dumps(ck.schema, sort_keys=True)


def seeded() -> tuple[CloudKit, str, list[str]]:
    ck = CloudKit(api_token=API)
    db = ck.db("alice")
    db.zones_modify({"operations": [{"operationType": "create", "zone": {"zoneID": {"zoneName": "Fit"}}}]})
    db.records_modify({"zoneID": {"zoneName": "Fit"}, "operations": [good_op(100 + i) for i in range(5)]})
    tokens = [db.changes_zone({"zones": [{"zoneID": {"zoneName": "Fit"}}]})["zones"][0]["syncToken"],
              db.changes_database({})["syncToken"]]
    return ck, ck.mint_web_auth_token("alice"), tokens


def check(ck, app, web_token, req) -> None:
    query = req.get("query") or {"ckAPIToken": API, "ckWebAuthToken": web_token}
    path = req.get("path") or BASE + req["op"]
    status, _, raw = call(app, req.get("method", "POST"), path, urlencode(query), req["body"])
    assert status < 500, f"{status} for {path} {req['body'][:200]!r}: {raw[:300]!r}"
    assert b"Traceback" not in raw
    body = json.loads(raw)
    if status != 200:
        assert isinstance(body.get("serverErrorCode"), str) and isinstance(body.get("reason"), str), body
        assert body.get("uuid"), body


def test_two_thousand_malformed_requests_change_nothing():
    ck, web_token, real_tokens = seeded()
    ck.config.web_auth_token_rotation = "off"       # one token serves the whole run
    app = asgi_app(ck)
    before = fingerprint(ck)
    sent = 0
    # records/modify is where a lapse would store something, so it gets half the requests.
    requests = st.one_of(bad_batch(), bad_batch(), bad_batch(), bad_batch(), bad_batch(), wrong_envelope(),
                         raw_body(), bad_token(real_tokens), bad_query_or_lookup(), bad_auth_or_path(),
                         bad_option(), bad_option())

    @settings(max_examples=210, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(requests, min_size=10, max_size=10))
    def run(batch):
        nonlocal sent
        for req in batch:
            check(ck, app, web_token, req)
            sent += 1
        assert fingerprint(ck) == before, f"state changed after {batch}"

    run()
    assert sent >= 2000, f"only {sent} malformed requests were sent"


BAD_VALUES = [0, -1, 1.5, True, "x", "", [], [1], [[1]], ["a", 1], {}, {"a": 1}, {"zoneName": 5}, "A" * 300, 2 ** 70]
RECORD_KEYS = ["recordName", "recordType", "recordChangeTag", "fields", "zoneID", "desiredKeys"]


def test_every_option_and_record_key_with_every_bad_value():
    """The exhaustive companion of the fuzz: each option of each operation, and each key of an
    operation's record, set to each value of a fixed list of wrong types (a random draw would hit
    a given pair only now and then)."""
    ck, web_token, _ = seeded()
    ck.config.web_auth_token_rotation = "off"
    app = asgi_app(ck)
    before = fingerprint(ck)
    sent = 0
    for op, template in sorted(OPTION_BODIES.items()):
        for key in OPTIONS:
            for value in BAD_VALUES:
                for where in ("top", "zone") if op == "changes/zone" else ("top",):
                    body = json.loads(json.dumps(template))
                    (body["zones"][0] if where == "zone" else body)[key] = value
                    check(ck, app, web_token, {"op": op, "body": json.dumps(body).encode()})
                    sent += 1
    # Tag-checked operations on a record that is not there: valid or not, nothing may change.
    for kind in ("update", "replace", "delete"):
        for key in RECORD_KEYS:
            for value in BAD_VALUES:
                record = {"recordName": "absent", "recordType": "Log", "recordChangeTag": "t", key: value}
                body = {"zoneID": {"zoneName": "Fit"}, "operations": [{"operationType": kind, "record": record}]}
                check(ck, app, web_token, {"op": "records/modify", "body": json.dumps(body).encode()})
                sent += 1
    assert fingerprint(ck) == before
    assert sent > 1000
