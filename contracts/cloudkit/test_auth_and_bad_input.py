"""Authentication, isolation, and bad input: CloudKit-shaped errors, never a 5xx, nothing changes."""

from __future__ import annotations

import json

import pytest

from .helpers import fetch_all, lookup, modify, op, rec, save


def _error(resp, status, code):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["serverErrorCode"] == code, body
    assert body["reason"] and body["uuid"]
    return body


def test_missing_web_auth_token_needs_authentication(target):
    resp = target.call("zones/list", method="GET", params={"ckAPIToken": target.api_token})
    body = _error(resp, 421, "AUTHENTICATION_REQUIRED")
    assert "redirectURL" in body


def test_forged_web_auth_token_fails(target):
    resp = target.call("zones/list", method="GET", params={"ckAPIToken": target.api_token, "ckWebAuthToken": "forged"})
    _error(resp, 401, "AUTHENTICATION_FAILED")


def test_bad_api_token_fails(target):
    params = {"ckAPIToken": "wrong", "ckWebAuthToken": target.token("alice")}
    _error(target.call("zones/list", method="GET", params=params), 401, "AUTHENTICATION_FAILED")


def test_rotated_web_auth_token_is_handed_out_and_works(target):
    first = target.token("alice")
    resp = target.call("zones/list", method="GET")
    rotated = resp.headers.get("x-apple-cloudkit-web-auth-token")
    assert rotated and rotated != first
    assert target.call("zones/list", method="GET").status_code == 200


@pytest.mark.cloudkit_config(web_auth_token_rotation="strict")
def test_strict_rotation_kills_the_used_token(target):
    target.need_control("configuration")
    used = target.token("alice")
    assert target.call("zones/list", method="GET").status_code == 200
    stale = {"ckAPIToken": target.api_token, "ckWebAuthToken": used}
    _error(target.call("zones/list", method="GET", params=stale), 401, "AUTHENTICATION_FAILED")


def test_expired_web_auth_token_fails(target):
    target.need_control("moving the clock")
    params = {"ckAPIToken": target.api_token, "ckWebAuthToken": target.token("alice")}
    target.control("POST", "clock", advance=31 * 60)
    _error(target.call("zones/list", method="GET", params=params), 401, "AUTHENTICATION_FAILED")


def test_users_cannot_see_each_other(target, zone):
    save(target, zone, rec("secret", v=1))
    other = target.ok("changes/zone", {"zones": [{"zoneID": {"zoneName": zone}}]}, user="bob")["zones"][0]
    assert other["serverErrorCode"] == "ZONE_NOT_FOUND"
    theirs = target.ok("records/lookup", {"records": [{"recordName": "secret"}]}, user="bob")["records"][0]
    assert theirs["serverErrorCode"] == "NOT_FOUND"
    caller_a = target.ok("users/caller", method="GET", database="public")["userRecordName"]
    caller_b = target.ok("users/caller", method="GET", database="public", user="bob")["userRecordName"]
    assert caller_a != caller_b


BAD_MODIFY = {
    "malformed JSON": (b'{"operations": [', 400, "BAD_REQUEST"),
    "not an object": (b"[1, 2]", 400, "BAD_REQUEST"),
    "no operations": (b"{}", 400, "BAD_REQUEST"),
    "unknown operation type": ({"operations": [op("upsert", rec("x", v=1))]}, 400, "BAD_REQUEST"),
    "missing record name": ({"operations": [op("update", {"recordType": "DailyLog", "recordChangeTag": "a"})]}, 400, "BAD_REQUEST"),
    "name starting with _": ({"operations": [op("create", rec("_x", v=1))]}, 400, "BAD_REQUEST"),
    "two ops on one record": ({"operations": [op("create", rec("x", v=1)), op("forceDelete", rec("x"))]}, 400, "BAD_REQUEST"),
    "over-limit batch": ({"operations": [op("create", rec(f"x{i}", v=1)) for i in range(201)]}, 400, "BAD_REQUEST"),
    "bad field type": ({"operations": [op("create", {"recordName": "x", "recordType": "T",
                                                     "fields": {"f": {"value": "s", "type": "INT64"}}})]}, 400, "BAD_REQUEST"),
    "unknown zone": ({"zoneID": {"zoneName": "nosuchzone"}, "operations": [op("create", rec("x", v=1))]}, 404, "ZONE_NOT_FOUND"),
}


@pytest.mark.parametrize("case", list(BAD_MODIFY))
def test_bad_modify_requests(target, zone, case):
    save(target, zone, rec("keep", v=1))
    before = fetch_all(target, zone)[0]
    body, status, code = BAD_MODIFY[case]
    if isinstance(body, dict) and "zoneID" not in body:
        body = {**body, "zoneID": {"zoneName": zone}}
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    _error(target.call("records/modify", raw=raw), status, code)
    assert fetch_all(target, zone)[0] == before, "a rejected request changed stored state"


def test_schema_type_mismatch_is_a_per_record_error(target, zone):
    save(target, zone, rec("a", v=1))                       # v is INT64 now
    resp = modify(target, zone, op("forceUpdate", rec("b", v="text")), atomic=False)
    assert resp.json()["records"][0]["serverErrorCode"] == "BAD_REQUEST"
    assert lookup(target, zone, "b")["b"] is None


@pytest.mark.parametrize("path_op,method", [("records/explode", "POST"), ("zones/list", "DELETE")])
def test_unknown_paths_and_methods(target, path_op, method):
    resp = target.call(path_op, {}, method=method)
    assert 400 <= resp.status_code < 500 and resp.json()["serverErrorCode"] in ("NOT_FOUND", "BAD_REQUEST")


def test_unimplemented_operation_fails_loudly(target):
    target.need_control("the fake's own NOT_IMPLEMENTED answer")
    resp = target.call("subscriptions/list", {})
    assert resp.status_code == 501 and resp.json()["serverErrorCode"] == "NOT_IMPLEMENTED"


def test_lookup_limits_and_names(target, zone):
    many = {"zoneID": {"zoneName": zone}, "records": [{"recordName": f"r{i}"} for i in range(201)]}
    _error(target.call("records/lookup", many), 400, "BAD_REQUEST")
    _error(target.call("records/lookup", {"records": [{"recordName": "_sys"}]}), 400, "BAD_REQUEST")
