"""/rest/v1/rpc/<fn>: named arguments by POST body or query string, void, sets, errors.

Needs contract_schema.sql loaded into the target (the gateway targets do it themselves).
"""

from __future__ import annotations

from .targets import error_shape, log_row, sign_up, user_headers

RPC = "/rest/v1/rpc"


def test_post_with_named_arguments(http, target, user):
    response = http.post(f"{RPC}/contract_add", json={"a": 2, "b": 40}, headers=user_headers(target, user))
    assert response.status_code == 200 and response.json() == 42
    defaulted = http.post(f"{RPC}/contract_add", json={"a": 2}, headers=user_headers(target, user))
    assert defaulted.json() == 3


def test_get_with_query_arguments(http, target, user):
    response = http.get(f"{RPC}/contract_echo?message=hello", headers=user_headers(target, user))
    assert response.status_code == 200 and response.json() == "hello"


def test_void_function_is_204(http, target, user):
    response = http.post(f"{RPC}/contract_noop", json={}, headers=user_headers(target, user))
    assert response.status_code == 204 and response.content == b""


def test_set_returning_function_takes_filters_and_rls(http, target, user):
    rows = [log_row(payload="r1", key_version=1), log_row(payload="r2", key_version=2)]
    http.post("/rest/v1/daily_logs", json=rows, headers=user_headers(target, user))
    response = http.post(f"{RPC}/contract_my_logs?select=payload&key_version=gt.1", json={},
                         headers=user_headers(target, user))
    assert response.status_code == 200 and response.json() == [{"payload": "r2"}]
    stranger = sign_up(http, target)
    assert http.post(f"{RPC}/contract_my_logs", json={}, headers=user_headers(target, stranger)).json() == []


def test_setof_scalars_are_a_json_array(http, target, user):
    response = http.get(f"{RPC}/contract_numbers?n=3", headers=user_headers(target, user))
    assert response.status_code == 200 and response.json() == [1, 2, 3]


def test_unknown_function_is_pgrst202(http, target, user):
    response = http.post(f"{RPC}/contract_nope", json={}, headers=user_headers(target, user))
    assert response.status_code == 404
    body = error_shape(response)
    assert body["code"] == "PGRST202" and "public.contract_nope" in body["message"]


def test_unknown_argument_is_pgrst202(http, target, user):
    response = http.post(f"{RPC}/contract_add", json={"a": 1, "zzz": 2}, headers=user_headers(target, user))
    assert response.status_code == 404 and error_shape(response)["code"] == "PGRST202"


def test_wrong_argument_type_is_400(http, target, user):
    response = http.post(f"{RPC}/contract_add", json={"a": "many"}, headers=user_headers(target, user))
    assert response.status_code == 400 and error_shape(response)["code"] == "22P02"


def test_delete_on_rpc_is_405(http, target, user):
    response = http.delete(f"{RPC}/contract_noop", headers=user_headers(target, user))
    assert response.status_code == 405 and error_shape(response)["code"] == "PGRST101"
