"""/rest/v1/rpc bodies and the rest of the request as PostgREST v14 reads them: form and CSV bodies, the
removed `Prefer: params=single-object`, the Range header (GET only), INOUT/TABLE results, and a volatile
function refused on GET.

Needs contract_schema.sql loaded into the target (the gateway targets do it themselves).
"""

from __future__ import annotations

import uuid

from .targets import error_shape, user_headers

RPC = "/rest/v1/rpc"


def test_form_body_gives_arguments_like_a_query_string(http, target, user):
    form = user_headers(target, user, **{"Content-Type": "application/x-www-form-urlencoded"})
    assert http.post(f"{RPC}/contract_add", content=b"a=1&b=2", headers=form).json() == 3
    assert http.post(f"{RPC}/contract_rpc_variadic", content=b"v=x&v=y", headers=form).json() == ["x", "y"]


def test_csv_body_takes_its_first_row(http, target, user):
    csv = user_headers(target, user, **{"Content-Type": "text/csv"})
    assert http.post(f"{RPC}/contract_add", content=b"a,b\n1,2\n4,6", headers=csv).json() == 3
    ragged = http.post(f"{RPC}/contract_add", content=b"a,b\n1", headers=csv)
    assert ragged.status_code == 400 and error_shape(ragged)["code"] == "PGRST102"
    # a CSV body never falls back to an unnamed json parameter, and PGRST202 does not offer one
    unknown = http.post(f"{RPC}/contract_rpc_over", content=b"a,x\n1,2", headers=csv)
    assert unknown.status_code == 404 and error_shape(unknown)["details"] == (
        "Searched for the function public.contract_rpc_over with parameters a, x, but no matches were found in the "
        "schema cache.")
    assert http.post(f"{RPC}/contract_rpc_unnamed_json", content=b"a\n1", headers=csv).status_code == 404


def test_params_single_object_is_no_longer_a_preference(http, target, user):
    ignored = http.post(f"{RPC}/contract_rpc_named_json", json={"A": 1},
                        headers=user_headers(target, user, Prefer="params=single-object"))
    assert ignored.status_code == 404 and error_shape(ignored)["code"] == "PGRST202"
    strict = http.post(f"{RPC}/contract_rpc_named_json", json={"data": {"A": 1}},
                       headers=user_headers(target, user, Prefer="handling=strict, params=single-object"))
    assert strict.status_code == 400 and error_shape(strict) == {
        "code": "PGRST122", "message": "Invalid preferences given with handling=strict",
        "details": "Invalid preferences: params=single-object", "hint": None}


def test_range_header_applies_to_get_only(http, target, user):
    ranged = http.get(f"{RPC}/contract_numbers?n=5", headers=user_headers(target, user, Range="1-2"))
    assert ranged.json() == [2, 3] and ranged.headers["content-range"] == "1-2/*"
    posted = http.post(f"{RPC}/contract_numbers", json={"n": 5}, headers=user_headers(target, user, Range="1-2"))
    assert posted.json() == [1, 2, 3, 4, 5] and posted.headers["content-range"] == "0-4/*"


def test_inout_and_table_results_are_objects(http, target, user):
    assert http.get(f"{RPC}/contract_rpc_inout?num=2", headers=user_headers(target, user)).json() == {"num": 3}
    table = http.get(f"{RPC}/contract_rpc_table?n=2&select=label", headers=user_headers(target, user))
    assert table.json() == [{"label": "row 1"}, {"label": "row 2"}]


def test_volatile_function_on_get_is_405_and_writes_nothing(http, target, user):
    tag = uuid.uuid4().hex
    response = http.get(f"{RPC}/contract_rpc_make_log?tag={tag}", headers=user_headers(target, user))
    assert response.status_code == 405 and error_shape(response)["code"] == "25006"
    left = http.get(f"/rest/v1/daily_logs?payload=eq.{tag}", headers=user_headers(target, user))
    assert left.json() == []


def test_columns_picks_the_arguments_from_the_body(http, target, user):
    headers = user_headers(target, user)
    body = {"a": 1, "b": 2, "smth": "here", "fake_id": 13}
    assert http.post(f"{RPC}/contract_add?columns=a,b", json=body, headers=headers).json() == 3
    rows = [{"a": 1, "b": 2, "c": 0}, {"a": 4, "b": 6, "c": 0}]
    assert http.post(f"{RPC}/contract_add?columns=a,b", json=rows, headers=headers).json() == 3
