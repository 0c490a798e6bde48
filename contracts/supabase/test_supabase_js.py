"""supabase-js (the client a web or React Native app ships) against the gateway over loopback, and
against a real stack when `--supabase-url` is given: the calls whose wire form the JS client shapes
(select-string cleaning, `referencedTable` options, `rollback()` under db-tx-end=commit-allow-override,
auth-js's admin API and error mapping).

One node process runs every case (contracts/supabase/js/calls.js) and prints their results; each
test asserts on one. supabase-js is the version examples/node-sync pins, installed at test time
into .cache (skipped, with the reason, where npm cannot install it).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import httpx
import pytest

from dualsync.contracts.npm import require_project
from dualsync.fakes.supabase import pytest_plugin

from .targets import Target

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVER = pathlib.Path(__file__).with_name("js") / "calls.js"

pytestmark = pytest.mark.node
CASES = ["embed_to_many", "embed_to_one_single", "embed_inner_filtered", "embed_referenced_limit", "embed_many_to_many",
         "embed_spread", "embed_unknown", "auth_anonymous_disabled", "auth_update_user", "auth_admin_round_trip",
         "auth_admin_refused_for_anon", "rest_strip_nulls", "rest_csv_or_array_planned", "rest_rollback"]


def pytest_generate_tests(metafunc):
    """Over loopback always; against the real stack too when one is given."""
    real = pytest_plugin.external_target(metafunc.config) is not None
    metafunc.parametrize("js_target", ["loopback"] + (["external"] if real else []), indirect=True, scope="module")


@pytest.fixture(scope="module")
def js_target(request, contract_schema) -> Target:
    if request.param == "external":
        return request.getfixturevalue("external_target")
    gateway = request.getfixturevalue("supabase_session_gateway")
    server = request.getfixturevalue("supabase_session_server")
    return Target("loopback", server.url, gateway.config.anon_key, gateway.config.service_key,
                  jwt_secret=gateway.config.jwt_secret)


def run_cases(target: Target, cases: list[str]) -> dict:
    """Run `cases` of js/calls.js in one node process against `target`; their results by name."""
    modules = require_project("supabase-js contract tier", ROOT / "examples" / "node-sync", "node-sync")
    env = dict(os.environ, NODE_PATH=str(modules), SB_URL=target.url, SB_ANON_KEY=target.anon_key,
               SB_SERVICE_KEY=target.service_key, SB_CASES=",".join(cases))
    done = subprocess.run(["node", str(DRIVER)], env=env, capture_output=True, text=True, timeout=120)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"supabase-js printed no result (exit {done.returncode}): {done.stderr[-1500:]}"
    return json.loads(lines[-1])


@pytest.fixture(scope="module")
def results(js_target) -> dict:
    service = {"apikey": js_target.service_key, "Authorization": f"Bearer {js_target.service_key}"}
    with httpx.Client(base_url=js_target.url, timeout=30) as http:
        seeded = http.post("/rest/v1/rpc/emb_seed", json={}, headers=service)
    assert seeded.status_code == 204, seeded.text
    return run_cases(js_target, CASES)


def case(results: dict, name: str) -> dict:
    out = results[name]
    assert "thrown" not in out, f"{name}: supabase-js threw: {out['thrown']}"
    return out


def test_an_embed_written_over_several_lines_is_cleaned_and_served(results):
    out = case(results, "embed_to_many")
    assert out["error"] is None and out["status"] == 200
    assert out["data"] == [{"id": 1, "emb_children": [{"id": 10, "name": "a1"}, {"id": 11, "name": "a2"}]},
                           {"id": 2, "emb_children": [{"id": 12, "name": "b1"}]}, {"id": 3, "emb_children": []}]


def test_a_to_one_embed_under_single_is_an_object(results):
    assert case(results, "embed_to_one_single")["data"] == {"name": "a1", "emb_parents": {"name": "Ada"}}


def test_an_inner_embed_filtered_by_its_column_filters_the_parents(results):
    assert case(results, "embed_inner_filtered")["data"] == [{"id": 2, "emb_children": [{"name": "b1"}]}]


def test_referenced_table_order_and_limit_apply_inside_the_embed(results):
    assert case(results, "embed_referenced_limit")["data"] == [{"id": 1, "emb_children": [{"id": 11}]}]


def test_many_to_many_through_the_junction(results):
    assert case(results, "embed_many_to_many")["data"] == [
        {"name": "Ada", "emb_tags": [{"label": "red"}, {"label": "blue"}]}]


def test_a_spread_lifts_the_parent_columns(results):
    assert case(results, "embed_spread")["data"] == [{"name": "b1", "parent_name": "Bo"}]


def test_an_unknown_relationship_reaches_the_js_error(results):
    out = case(results, "embed_unknown")
    assert out["data"] is None and out["status"] == 400
    assert out["error"]["code"] == "PGRST200"
    assert "'emb_parents' and 'nope'" in out["error"]["message"]


def test_anonymous_sign_in_is_refused_while_disabled(results):
    out = case(results, "auth_anonymous_disabled")
    assert out["error"]["code"] == "anonymous_provider_disabled" and out["error"]["status"] == 422


def test_update_user_returns_the_new_metadata(results):
    out = case(results, "auth_update_user")
    assert out["error"] is None, out
    assert out["data"]["user"]["user_metadata"]["plan"] == "pro"


def test_the_admin_api_round_trip_with_the_service_key(results):
    out = case(results, "auth_admin_round_trip")
    assert out["error"] is None, out
    # GoTrue's Confirm() (email_confirm: true) writes email_verified into user_metadata
    assert out["data"] == {"email": out["data"]["email"], "metadata": {"from": "js", "email_verified": True},
                           "identities": ["email"],
                           "deleted": True, "afterStatus": 404, "matches": True}


def test_the_admin_api_refuses_the_anon_key(results):
    out = case(results, "auth_admin_refused_for_anon")
    assert out["error"]["status"] == 403 and out["error"]["code"] == "not_admin"


def test_strip_nulls_for_single_and_arrays(results):
    """postgrest-js's stripNulls() sends the object / array media type with nulls=stripped."""
    out = case(results, "rest_strip_nulls")
    assert out["error"] is None, out
    assert out["data"] == {"single": {"n": 1}, "many": [{"n": 1}, {"n": 2, "note": "x"}]}


def test_csv_with_an_array_inside_or_and_a_planned_head_count(results):
    out = case(results, "rest_csv_or_array_planned")
    assert out["error"] is None, out
    assert out["data"] == {"csv": 'n,note\n1,"a,b"', "planned": 1, "plannedStatus": 206}


def test_rollback_returns_the_rows_and_keeps_none(results):
    """postgrest-js's rollback() under db-tx-end=commit-allow-override (test_rest_tx.py has the wire details)."""
    out = case(results, "rest_rollback")
    assert out["error"] is None and out["status"] == 201
    assert out["data"] == {"inserted": [{"note": "a"}, {"note": "b"}], "called": [{"note": "rpc"}] * 2,
                           "updated": [{"note": "changed"}], "after": [{"note": "kept"}]}
