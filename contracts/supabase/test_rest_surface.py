"""The rest of the REST surface v14 serves beyond reads and writes: OPTIONS, response.headers /
response.status set by a function, PATCH with missing=default (Prefer: tx is in test_rest_tx.py);
and what the gateway does not emulate answers 501 naming it, never a made-up 4xx."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from dualsync.fakes.supabase import tokens

from .targets import error_shape

ITEMS = "/rest/v1/contract_rest_items"
pytestmark = pytest.mark.usefixtures("target")


def anon(target, **extra) -> dict:
    return {"apikey": target.anon_key, **extra}


def test_options_lists_the_methods(http, target):
    table = http.options(ITEMS, headers=anon(target))
    assert table.status_code == 200 and table.content == b""
    assert table.headers["allow"] == "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"
    assert table.headers["access-control-allow-origin"] == "*"
    stable = http.options("/rest/v1/rpc/contract_echo?message=x", headers=anon(target))
    assert stable.status_code == 200 and stable.headers["allow"] == "OPTIONS,GET,HEAD,POST"
    unresolved = http.options("/rest/v1/rpc/contract_echo", headers=anon(target))   # resolved as HEAD would
    assert unresolved.status_code == 404 and error_shape(unresolved)["code"] == "PGRST202"
    volatile = http.options("/rest/v1/rpc/contract_noop", headers=anon(target))
    assert volatile.headers["allow"] == "OPTIONS,POST"
    root = http.options("/rest/v1/", headers=anon(target))
    assert root.status_code == 200 and root.headers["allow"] == "OPTIONS,GET,HEAD"
    missing = http.options("/rest/v1/contract_no_such_table", headers=anon(target))
    assert missing.status_code == 404 and error_shape(missing)["code"] == "PGRST205"
    # the function is looked up as a GET would look it up: without its required argument, none fits
    unfit = http.options("/rest/v1/rpc/contract_echo", headers=anon(target))
    assert unfit.status_code == 404 and error_shape(unfit)["code"] == "PGRST202"


def test_response_settings_shape_the_reply(http, target):
    headers = json.dumps([{"X-Contract": "one"}, {"X-Contract": "two"}, {"Content-Type": "text/plain; charset=utf-8"}])
    response = http.get("/rest/v1/rpc/contract_respond", params={"status": "201", "headers": headers},
                        headers=anon(target))
    assert response.status_code == 201 and response.json() == "shaped"
    assert response.headers.get_list("x-contract") == ["one", "two"]
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    bad = http.get("/rest/v1/rpc/contract_respond", params={"status": "200", "headers": '{"X": 1}'},
                   headers=anon(target))
    assert bad.status_code == 500 and error_shape(bad)["code"] == "PGRST111"
    status = http.get("/rest/v1/rpc/contract_respond", params={"status": "abc", "headers": "[]"}, headers=anon(target))
    assert status.status_code == 500 and error_shape(status)["code"] == "PGRST112"


def test_patch_with_missing_default(http, target):
    tag = uuid.uuid4().hex
    before = http.post(f"{ITEMS}?select=n", json={"tag": tag, "note": "a"},
                       headers=anon(target, Prefer="return=representation")).json()[0]["n"]
    patched = http.patch(f"{ITEMS}?tag=eq.{tag}&columns=note,n&select=n,note", json={"note": "b"},
                         headers=anon(target, Prefer="missing=default, return=representation"))
    assert patched.status_code == 200, patched.text
    assert patched.headers["preference-applied"] == "missing=default, return=representation"
    [row] = patched.json()
    assert row["note"] == "b" and row["n"] > before
    nulls = http.patch(f"{ITEMS}?tag=eq.{tag}&columns=note,n", json={"note": "c"}, headers=anon(target))
    assert nulls.status_code == 400 and error_shape(nulls)["code"] == "23502"   # n is NOT NULL


def test_what_is_not_emulated_answers_501(http, target):
    if target.name == "external":
        pytest.skip("a real stack serves these")
    for path in ("/rest/v1/", "/storage/v1/bucket", "/functions/v1/hello", "/graphql/v1", "/realtime/v1/api/ping"):
        response = http.get(path, headers=anon(target))
        assert response.status_code == 501, path
        assert error_shape(response)["code"] == "DUALSYNC501"
        assert "not implemented by the dualsync gateway" in response.json()["message"]


def test_custom_media_type_handlers(http, target):
    """A function returning the domain "text/html" serves text/html on v14; the gateway runs no custom
    handlers and says so, where it would otherwise answer a false 406."""
    response = http.get("/rest/v1/rpc/contract_page", headers=anon(target, Accept="text/html"))
    served = (response.status_code, response.text) == (200, "<p>hi</p>")         # a real stack
    refused = response.status_code == 501 and "custom media type handlers" in response.json()["message"]
    assert served or refused, (response.status_code, response.text)
    nothing = http.get("/rest/v1/rpc/contract_page", headers=anon(target, Accept="text/x-nobody"))
    assert nothing.status_code == 406 and error_shape(nothing)["code"] == "PGRST107"


def test_preference_applied_per_operation(http, target):
    """v14 reports missing= on POST/PATCH only, max-affected on PATCH/DELETE and only with handling=strict."""
    tag = uuid.uuid4().hex
    prefer = "missing=default, max-affected=5, return=minimal"
    posted = http.post(ITEMS, json={"tag": tag}, headers=anon(target, Prefer=prefer))
    assert posted.headers["preference-applied"] == "missing=default, return=minimal"
    patched = http.patch(f"{ITEMS}?tag=eq.{tag}", json={"note": "x"}, headers=anon(target, Prefer=f"handling=strict, {prefer}"))
    assert patched.headers["preference-applied"] == "missing=default, return=minimal, handling=strict, max-affected=5"
    deleted = http.delete(f"{ITEMS}?tag=eq.{tag}", headers=anon(target, Prefer=prefer))
    assert deleted.status_code == 204 and deleted.headers["preference-applied"] == "return=minimal"
    read = http.get(f"{ITEMS}?tag=eq.{tag}", headers=anon(target, Prefer=f"count=exact, {prefer}"))
    assert read.headers["preference-applied"] == "count=exact"


def test_failing_statements_leave_the_connections_usable(http, target):
    """Each request's statements run in one pipeline; one that fails (the role switch for a token whose
    role does not exist, a bad value, an unknown column) must not leave a connection that answers
    later requests with an error (psycopg once took a skipped statement for prepared: 26000)."""
    if target.jwt_secret is None:
        pytest.skip("minting a token needs --supabase-jwt-secret")
    stranger = tokens.encode({"role": "no_such_role", "exp": int(time.time()) + 600}, target.jwt_secret)
    for _ in range(12):
        unknown = http.get(f"{ITEMS}?limit=1", headers=anon(target, Authorization=f"Bearer {stranger}"))
        assert unknown.status_code == 401, unknown.text
        for query, code in (("id=eq.not-a-uuid", "22P02"), ("select=no_such_column", "42703")):
            bad = http.get(f"{ITEMS}?{query}", headers=anon(target))
            assert bad.status_code == 400 and error_shape(bad)["code"] == code
        good = http.get(f"{ITEMS}?limit=1", headers=anon(target))
        assert good.status_code == 200, good.text
