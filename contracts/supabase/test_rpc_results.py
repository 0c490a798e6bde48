"""/rest/v1/rpc results as PostgREST v14 shapes them: Content-Range and exact counts on every method,
a single composite shaped by select= and filters, max-affected with handling=strict, query-string
argument types and variadic arguments.

Needs contract_schema.sql loaded into the target (the gateway targets do it themselves).
"""

from __future__ import annotations

import uuid

import pytest
from postgrest.exceptions import APIError

from .targets import error_shape, user_headers

RPC = "/rest/v1/rpc"
COUNT = {"Prefer": "count=exact"}


# ---- item 2: Prefer: count=exact on POST, GET and HEAD -------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
def test_exact_count_of_a_scalar_is_one(http, target, user, method):
    args = {"a": 3, "b": 4}
    response = http.request(method, f"{RPC}/contract_add", params=args if method != "POST" else None,
                            json=args if method == "POST" else None, headers=user_headers(target, user, **COUNT))
    assert response.status_code == 200 and response.headers["content-range"] == "0-0/1"
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == (b"" if method == "HEAD" else b"7")


def test_a_scalar_without_count_has_an_open_range(http, target, user):
    response = http.get(f"{RPC}/contract_add?a=1&b=1", headers=user_headers(target, user))
    assert response.status_code == 200 and response.headers["content-range"] == "0-0/*"


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
def test_exact_count_of_a_set(http, target, user, method):
    query = "n=5" if method != "POST" else ""
    response = http.request(method, f"{RPC}/contract_numbers?{query}", json={"n": 5} if method == "POST" else None,
                            headers=user_headers(target, user, **COUNT))
    assert response.status_code == 200 and response.headers["content-range"] == "0-4/5"
    paged = http.request(method, f"{RPC}/contract_numbers?{query}&limit=2&offset=1",
                         json={"n": 5} if method == "POST" else None, headers=user_headers(target, user, **COUNT))
    assert paged.status_code == 206 and paged.headers["content-range"] == "1-2/5"
    if method != "HEAD":
        assert paged.json() == [2, 3]


def test_exact_count_of_a_void_function(http, target, user):
    response = http.post(f"{RPC}/contract_noop", json={}, headers=user_headers(target, user, **COUNT))
    assert response.status_code == 204 and response.headers["content-range"] == "0-0/1"
    assert response.headers["preference-applied"] == "count=exact"


def test_supabase_py_rpc_counts(signed_client):
    assert signed_client.rpc("contract_add", {"a": 3, "b": 4}, count="exact").execute().count == 1
    assert signed_client.rpc("contract_add", {"a": 3, "b": 4}, count="exact", get=True).execute().count == 1
    head = signed_client.rpc("contract_numbers", {"n": 4}, count="exact", head=True).execute()
    assert head.count == 4 and head.data == []
    got = signed_client.rpc("contract_rpc_pairs", {"n": 3}, count="exact", get=True).select("id").gt("id", 1).execute()
    assert got.count == 2 and got.data == [{"id": 2}, {"id": 3}]


# ---- item 3: a function returning one composite ---------------------------------------------------

def test_single_composite_is_shaped_by_select(http, target, user):
    headers = user_headers(target, user)
    assert http.get(f"{RPC}/contract_rpc_pair?id=1&select=id", headers=headers).json() == {"id": 1}
    assert http.post(f"{RPC}/contract_rpc_pair?select=name:label", json={"id": 2},
                     headers=headers).json() == {"name": "pair 2"}
    assert http.post(f"{RPC}/contract_rpc_pair", json={}, headers=headers).json() == {"id": 1, "label": "pair 1"}


def test_single_composite_filtered_out_is_null(http, target, user):
    response = http.get(f"{RPC}/contract_rpc_pair?id=1&label=eq.nope", headers=user_headers(target, user, **COUNT))
    assert response.status_code == 200 and response.content == b"null"
    assert response.headers["content-range"] == "*/0"
    kept = http.get(f"{RPC}/contract_rpc_pair?id=3&id=eq.3&select=label", headers=user_headers(target, user))
    assert kept.json() == {"label": "pair 3"}


def test_supabase_py_single_composite(signed_client):
    assert signed_client.rpc("contract_rpc_pair", {"id": 4}).select("id").execute().data == {"id": 4}
    assert signed_client.rpc("contract_rpc_pair", {"id": 4}).eq("id", 5).execute().data is None


# ---- item 6: Prefer: handling=strict, max-affected=N -----------------------------------------------

def _logs_tagged(http, target, user, tag: str) -> int:
    response = http.get(f"/rest/v1/daily_logs?payload=eq.{tag}&select=id", headers=user_headers(target, user))
    return len(response.json())


def test_max_affected_exceeded_is_pgrst124_and_rolled_back(http, target, user):
    tag = uuid.uuid4().hex
    strict = user_headers(target, user, Prefer="handling=strict, max-affected=2")
    response = http.post(f"{RPC}/contract_rpc_make_logs", json={"n": 3, "tag": tag}, headers=strict)
    assert response.status_code == 400
    assert error_shape(response) == {"code": "PGRST124", "message": "Query result exceeds max-affected preference "
                                     "constraint", "details": "The query affects 3 rows", "hint": None}
    assert _logs_tagged(http, target, user, tag) == 0
    within = http.post(f"{RPC}/contract_rpc_make_logs?select=payload", json={"n": 2, "tag": tag}, headers=strict)
    assert within.status_code == 200 and within.json() == [{"payload": tag}] * 2
    assert within.headers["preference-applied"] == "handling=strict, max-affected=2"
    assert _logs_tagged(http, target, user, tag) == 2


def test_a_counted_call_runs_the_function_once(http, target, user):
    tag = uuid.uuid4().hex
    response = http.post(f"{RPC}/contract_rpc_make_logs?select=payload", json={"n": 2, "tag": tag},
                         headers=user_headers(target, user, **COUNT))
    assert response.status_code == 200 and response.headers["content-range"] == "0-1/2"
    assert _logs_tagged(http, target, user, tag) == 2


def test_max_affected_without_strict_is_ignored(http, target, user):
    tag = uuid.uuid4().hex
    lenient = user_headers(target, user, Prefer="max-affected=1")
    response = http.post(f"{RPC}/contract_rpc_make_logs", json={"n": 2, "tag": tag}, headers=lenient)
    assert response.status_code == 200 and "preference-applied" not in response.headers
    assert _logs_tagged(http, target, user, tag) == 2


@pytest.mark.parametrize("function, args", [("contract_rpc_make_log", {}), ("contract_add", {"a": 1})])
def test_max_affected_on_a_non_set_function_is_pgrst128(http, target, user, function, args):
    tag = uuid.uuid4().hex
    strict = user_headers(target, user, Prefer="handling=strict, max-affected=5")
    response = http.post(f"{RPC}/{function}", json={**args, "tag": tag} if not args else args, headers=strict)
    assert response.status_code == 400
    assert error_shape(response) == {"code": "PGRST128", "details": None, "hint": None, "message":
                                     "Function must return SETOF or TABLE when max-affected preference is used "
                                     "with handling=strict"}
    assert _logs_tagged(http, target, user, tag) == 0


def test_supabase_py_max_affected_error(signed_client):
    with pytest.raises(APIError) as caught:
        (signed_client.rpc("contract_rpc_make_logs", {"n": 2, "tag": uuid.uuid4().hex}).max_affected(1).execute())
    assert caught.value.code == "PGRST124"


# ---- arguments from the query string: types, repeats, variadic ------------------------------------

def test_query_string_arguments_take_the_parameter_types(http, target, user):
    response = http.get(f"{RPC}/contract_rpc_types?d=20260102&b=true&arr={{a,b}}&n=1.50",
                        headers=user_headers(target, user))
    assert response.status_code == 200
    assert response.json() == {"d": "2026-01-02", "b": True, "arr": ["a", "b"], "n": 1.50, "j": None}
    bad = http.get(f"{RPC}/contract_rpc_types?d=someday&b=true&arr={{}}&n=1", headers=user_headers(target, user))
    assert bad.status_code == 400 and error_shape(bad)["code"] == "22007"


def test_a_repeated_argument_takes_its_last_value(http, target, user):
    assert http.get(f"{RPC}/contract_echo?message=first&message=last", headers=user_headers(target, user)).json() \
        == "last"


def test_a_value_with_an_operator_is_a_filter_not_an_argument(http, target, user):
    response = http.get(f"{RPC}/contract_rpc_pairs?n=4&id=gt.2&select=id", headers=user_headers(target, user))
    assert response.status_code == 200 and response.json() == [{"id": 3}, {"id": 4}]


def test_variadic_arguments(http, target, user):
    headers = user_headers(target, user)
    assert http.post(f"{RPC}/contract_rpc_variadic", json={"v": ["a", "b"]}, headers=headers).json() == ["a", "b"]
    assert http.get(f"{RPC}/contract_rpc_variadic?v=x&v=y&v=z", headers=headers).json() == ["x", "y", "z"]
    assert http.get(f"{RPC}/contract_rpc_variadic?v=x", headers=headers).json() == ["x"]
    assert http.get(f"{RPC}/contract_rpc_variadic", headers=headers).json() == []


def test_an_array_body_takes_its_first_object(http, target, user):
    response = http.post(f"{RPC}/contract_add", json=[{"a": 1, "b": 2}, {"a": 4, "b": 6}],
                         headers=user_headers(target, user))
    assert response.status_code == 200 and response.json() == 3
