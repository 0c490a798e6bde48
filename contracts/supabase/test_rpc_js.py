"""/rest/v1/rpc through supabase-js (postgrest-js shapes the call: GET/HEAD arguments in the query
string, `count` as Prefer, `{"": value}` bodies, `maxAffected`), over loopback and a real stack.

The cases are the rpc_* ones in contracts/supabase/js/calls.js; the target and the skip when npm cannot
install supabase-js are test_supabase_js.py's.
"""

from __future__ import annotations

import json

import pytest

from .test_supabase_js import case, js_target, pytest_generate_tests, run_cases  # noqa: F401 (fixture, hook)

pytestmark = pytest.mark.node
CASES = ["rpc_count_get", "rpc_count_head", "rpc_composite_select", "rpc_unnamed_text", "rpc_unnamed_integer",
         "rpc_ambiguous", "rpc_max_affected"]


@pytest.fixture(scope="module")
def results(js_target) -> dict:
    return run_cases(js_target, CASES)


def test_counts_on_get_and_head(results):
    got = case(results, "rpc_count_get")
    assert (got["data"], got["count"], got["error"]) == (7, 1, None)
    head = case(results, "rpc_count_head")
    assert (head["count"], head["error"], head["status"]) == (4, None, 200)


def test_one_composite_is_shaped_by_select(results):
    assert case(results, "rpc_composite_select")["data"] == {"id": 4}


def test_unnamed_parameters(results):
    text = case(results, "rpc_unnamed_text")
    assert text["error"] is None and text["data"].startswith("text: ")
    assert json.loads(text["data"][len("text: "):]) == {"": "test"}
    missing = case(results, "rpc_unnamed_integer")
    assert missing["status"] == 404 and missing["error"]["code"] == "PGRST202"
    assert missing["error"]["message"] == "Could not find the function public.contract_rpc_unnamed_int() in the schema cache"


def test_ambiguous_overload_is_300(results):
    out = case(results, "rpc_ambiguous")
    assert out["status"] == 300 and out["error"]["code"] == "PGRST203"


def test_max_affected_is_refused_and_rolled_back(results):
    out = case(results, "rpc_max_affected")
    assert out["status"] == 400 and out["error"]["code"] == "PGRST124" and out["data"] == {"rowsLeft": 0}
