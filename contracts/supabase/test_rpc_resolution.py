"""How /rest/v1/rpc picks the function, as PostgREST v14 does: overloads by argument names (300 PGRST203
when more than one fits), single unnamed json/jsonb/text parameters, and PGRST202's wording and hint.

Needs contract_schema.sql loaded into the target (the gateway targets do it themselves). Messages name
the schema `public`, as a Supabase project exposes it.
"""

from __future__ import annotations

import json

import pytest
from postgrest.exceptions import APIError

from .targets import error_shape, user_headers

RPC = "/rest/v1/rpc"
RENAME = "Try renaming the parameters or the function itself in the database so function overloading can be resolved"
JSON = {"Content-Type": "application/json"}


def not_found(message: str, details: str, hint: str | None) -> dict:
    return {"code": "PGRST202", "message": message, "details": details, "hint": hint}


# ---- item 5: overloads ------------------------------------------------------------------------------

def test_overloads_resolve_by_argument_names(http, target, user):
    headers = user_headers(target, user)
    assert http.get(f"{RPC}/contract_rpc_over", headers=headers).json() == [1, 2, 3]
    assert http.get(f"{RPC}/contract_rpc_over?a=1&b=2", headers=headers).json() == 3
    assert http.post(f"{RPC}/contract_rpc_over", json={"a": "1", "b": "2", "c": "3"}, headers=headers).json() == "123"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_ambiguous_overloads_are_300_pgrst203(http, target, user, method):
    response = http.request(method, f"{RPC}/contract_rpc_same", params={"arg": "1"} if method == "GET" else None,
                            json={"arg": 1} if method == "POST" else None, headers=user_headers(target, user))
    assert response.status_code == 300
    assert error_shape(response) == {
        "code": "PGRST203", "details": None, "hint": RENAME,
        "message": "Could not choose the best candidate function between: public.contract_rpc_same(arg => integer), "
                   "public.contract_rpc_same(arg => xml), public.contract_rpc_same(arg => text, num => integer)"}
    narrowed = http.get(f"{RPC}/contract_rpc_same?arg=x&num=1", headers=user_headers(target, user))
    assert narrowed.status_code == 200 and narrowed.json() == "text"


def test_no_arguments_against_an_optional_unnamed_overload_is_ambiguous(http, target, user):
    response = http.post(f"{RPC}/contract_rpc_unnamed_default", json={}, headers=user_headers(target, user))
    assert response.status_code == 300 and error_shape(response)["message"] == (
        "Could not choose the best candidate function between: public.contract_rpc_unnamed_default(), "
        "public.contract_rpc_unnamed_default( => text)")


def test_supabase_py_ambiguous_overload(signed_client):
    with pytest.raises(APIError) as caught:
        signed_client.rpc("contract_rpc_same", {"arg": 1}).execute()
    assert caught.value.code == "PGRST203" and caught.value.hint == RENAME


# ---- item 7: a single unnamed parameter ----------------------------------------------------------------

def test_unnamed_json_parameter_takes_the_whole_body(http, target, user):
    headers = user_headers(target, user, **JSON)
    body = b'{"A": 1, "B": [2]}'
    assert http.post(f"{RPC}/contract_rpc_unnamed_json", content=body, headers=headers).json() == {"A": 1, "B": [2]}
    keyed = http.post(f"{RPC}/contract_rpc_unnamed_json", content=b'{"": {"test": "value"}}', headers=headers)
    assert keyed.status_code == 200 and keyed.json() == {"": {"test": "value"}}


def test_unnamed_text_parameter_takes_the_body_as_text(http, target, user):
    response = http.post(f"{RPC}/contract_rpc_unnamed_text", content=b'{"": "hello"}',
                         headers=user_headers(target, user, **JSON))
    assert response.status_code == 200 and response.json() == '{"": "hello"}'
    raw = http.post(f"{RPC}/contract_rpc_unnamed_text", content="plain words".encode(),
                    headers=user_headers(target, user, **{"Content-Type": "text/plain"}))
    assert raw.status_code == 200 and raw.json() == "plain words"


def test_raw_bytea_body_goes_to_an_unnamed_bytea_parameter(http, target, user):
    octets = http.post(f"{RPC}/contract_rpc_unnamed_bytea", content=bytes([0, 1, 255]),
                       headers=user_headers(target, user, **{"Content-Type": "application/octet-stream"}))
    assert octets.status_code == 200 and octets.json() == "\\x0001ff"


def test_raw_xml_body_goes_to_an_unnamed_xml_parameter(http, target, user):
    headers = user_headers(target, user, **{"Content-Type": "text/xml"})
    xml = http.post(f"{RPC}/contract_rpc_unnamed_xml", content=b"<a>1</a>", headers=headers)
    if xml.status_code == 400 and error_shape(xml)["code"] == "0A000":
        pytest.skip(f"this target's PostgreSQL has no XML support: {xml.json()['details']}")
    assert xml.status_code == 200 and xml.json() == "<a>1</a>"
    bad = http.post(f"{RPC}/contract_rpc_unnamed_xml", content=b"<", headers=headers)
    assert bad.status_code == 400 and error_shape(bad)["code"] == "2200N"


def test_unnamed_overloads_pick_the_text_one(http, target, user):
    for value in (b'{"": "test"}', b'{"": true}'):
        response = http.post(f"{RPC}/contract_rpc_poly", content=value, headers=user_headers(target, user, **JSON))
        assert response.status_code == 200 and response.json() == "text: " + value.decode()


def test_unnamed_integer_parameter_is_not_callable(http, target, user):
    response = http.post(f"{RPC}/contract_rpc_unnamed_int", content=b'{"": 1}',
                         headers=user_headers(target, user, **JSON))
    assert response.status_code == 404
    body = error_shape(response)
    assert (body["code"], body["message"], body["details"]) == (
        "PGRST202", "Could not find the function public.contract_rpc_unnamed_int() in the schema cache",
        "Searched for the function public.contract_rpc_unnamed_int with parameter  or with a single unnamed "
        "json/jsonb parameter, but no matches were found in the schema cache.")
    assert body["hint"].startswith("Perhaps you meant to call the function public.contract_rpc_unnamed_")


def test_a_named_json_parameter_does_not_take_the_body(http, target, user):
    response = http.post(f"{RPC}/contract_rpc_named_json", json={"A": 1, "B": 2},
                         headers=user_headers(target, user))
    assert response.status_code == 404 and error_shape(response) == not_found(
        "Could not find the function public.contract_rpc_named_json(A, B) in the schema cache",
        "Searched for the function public.contract_rpc_named_json with parameters A, B or with a single unnamed "
        "json/jsonb parameter, but no matches were found in the schema cache.", None)


def test_an_unnamed_parameter_beside_named_ones_is_a_syntax_error_as_in_postgrest(http, target, user):
    """PostgREST keeps f(json, b int) (one unnamed json parameter) and calls it with `"" := ...`, which
    PostgreSQL refuses; the gateway answers the same without sending that SQL."""
    response = http.post(f"{RPC}/contract_rpc_mixed", json={"": {}, "b": 2}, headers=user_headers(target, user))
    assert response.status_code == 400 and error_shape(response)["code"] == "42601"
    missing = http.post(f"{RPC}/contract_rpc_mixed", json={"b": 2}, headers=user_headers(target, user))
    assert missing.status_code == 404 and error_shape(missing)["code"] == "PGRST202"


def test_text_body_without_an_unnamed_text_function(http, target, user):
    response = http.post(f"{RPC}/contract_add", content=b"words",
                         headers=user_headers(target, user, **{"Content-Type": "text/plain"}))
    assert response.status_code == 404 and error_shape(response) == not_found(
        "Could not find the function public.contract_add in the schema cache",
        "Searched for the function public.contract_add with a single unnamed text parameter, but no matches were "
        "found in the schema cache.", None)


def test_supabase_py_unnamed_parameter(signed_client):
    text = signed_client.rpc("contract_rpc_poly", {"": "test"}).execute().data      # the body, however the signed_client spaced it
    assert text.startswith("text: ") and json.loads(text[len("text: "):]) == {"": "test"}
    data = signed_client.rpc("contract_rpc_unnamed_json", {"": {"k": "v"}}).execute().data
    assert data == {"": {"k": "v"}}


# ---- item 8: PGRST202 wording and the "Perhaps you meant" hint ------------------------------------------

def test_unknown_function_without_parameters(http, target, user):
    get = http.get(f"{RPC}/contract_nope", headers=user_headers(target, user))
    assert get.status_code == 404 and error_shape(get) == not_found(
        "Could not find the function public.contract_nope without parameters in the schema cache",
        "Searched for the function public.contract_nope without parameters, but no matches were found in the "
        "schema cache.", "Perhaps you meant to call the function public.contract_noop")
    post = http.post(f"{RPC}/contract_nope", json={}, headers=user_headers(target, user))
    assert error_shape(post)["details"] == (
        "Searched for the function public.contract_nope without parameters or with a single unnamed json/jsonb "
        "parameter, but no matches were found in the schema cache.")


def test_unknown_argument_names_hint_the_parameters(http, target, user):
    get = http.get(f"{RPC}/contract_add?a=1&zzz=2", headers=user_headers(target, user))
    assert get.status_code == 404 and error_shape(get) == not_found(
        "Could not find the function public.contract_add(a, zzz) in the schema cache",
        "Searched for the function public.contract_add with parameters a, zzz, but no matches were found in the "
        "schema cache.", "Perhaps you meant to call the function public.contract_add(a, b)")
    post = http.post(f"{RPC}/contract_echo", json={"mesage": "hi"}, headers=user_headers(target, user))
    assert error_shape(post) == not_found(
        "Could not find the function public.contract_echo(mesage) in the schema cache",
        "Searched for the function public.contract_echo with parameter mesage or with a single unnamed json/jsonb "
        "parameter, but no matches were found in the schema cache.",
        "Perhaps you meant to call the function public.contract_echo(message)")


def test_no_hint_when_nothing_is_close(http, target, user):
    response = http.get(f"{RPC}/zq", headers=user_headers(target, user))
    assert response.status_code == 404 and error_shape(response)["hint"] is None


def test_supabase_py_not_found(signed_client):
    with pytest.raises(APIError) as caught:
        signed_client.rpc("contract_add", {"a": 1, "zzz": 2}).execute()
    assert caught.value.code == "PGRST202"
    assert caught.value.hint == "Perhaps you meant to call the function public.contract_add(a, b)"
