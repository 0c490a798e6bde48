"""db-tx-end on the in-process gateway: the values the contracts cannot set over HTTP (`rollback`,
`rollback-allow-override`, invalid ones), the EXPLAIN ANALYZE path and the parsing units
(contracts/supabase/test_rest_tx.py has the rest)."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from dualsync.contracts.supabase.targets import SCHEMA_SQL
from dualsync.fakes.supabase import dbconfig, rest

ITEMS = "/rest/v1/contract_rest_items"


@pytest.fixture
def tx_end(supabase_gateway, supabase_client, pg):
    """set(value): the database's pgrst.db_tx_end as `alter role ... in database` sets it, announced
    with NOTIFY pgrst, 'reload config'; reset (and re-read) afterwards."""
    with psycopg.connect(pg.admin.dsn(), autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text())
        database = conn.execute("select current_database()").fetchone()[0]

        def set_value(value: str, *, wait: bool = True) -> None:
            conn.execute(sql.SQL("alter role authenticator in database {} set pgrst.db_tx_end = {}").format(
                sql.Identifier(database), sql.Literal(value)))
            conn.execute("notify pgrst, 'reload config'")
            deadline = time.monotonic() + 10
            seen = supabase_gateway.db_config, supabase_gateway.db_config_error
            while wait and (supabase_gateway.db_config, supabase_gateway.db_config_error) == seen:
                supabase_client.get(f"{ITEMS}?limit=0", headers=anon(supabase_gateway))  # reads the NOTIFY
                assert time.monotonic() < deadline, f"the gateway did not re-read pgrst.db_tx_end={value!r}"
                time.sleep(0.02)
        try:
            yield set_value
        finally:
            conn.execute(f"alter role authenticator in database {database} reset pgrst.db_tx_end")
            supabase_gateway.db_config = None       # read afresh by the next request


def anon(gateway, prefer: str | None = None) -> dict:
    return {"apikey": gateway.config.anon_key, **({"Prefer": prefer} if prefer else {})}


def count(client, gateway, tag: str) -> int:
    return len(client.get(f"{ITEMS}?tag=eq.{tag}", headers=anon(gateway)).json())


def test_rollback_ends_every_transaction_and_ignores_tx(supabase_client, supabase_gateway, tx_end):
    tx_end("rollback")
    assert supabase_gateway.db_config.tx_end == "rollback"
    tag = uuid.uuid4().hex
    for prefer in (None, "tx=commit", "tx=rollback", "handling=strict, tx=commit"):
        posted = supabase_client.post(ITEMS, json={"tag": tag}, headers=anon(supabase_gateway, prefer))
        assert posted.status_code == 201, posted.text
        assert posted.headers.get("preference-applied") in (None, "handling=strict")   # no tx= applied
    assert count(supabase_client, supabase_gateway, tag) == 0


def test_rollback_allow_override_commits_only_on_request(supabase_client, supabase_gateway, tx_end):
    tx_end("rollback-allow-override")
    tag = uuid.uuid4().hex
    dropped = supabase_client.post(ITEMS, json={"tag": tag}, headers=anon(supabase_gateway))
    assert dropped.status_code == 201 and "preference-applied" not in dropped.headers
    assert count(supabase_client, supabase_gateway, tag) == 0
    kept = supabase_client.post(ITEMS, json={"tag": tag}, headers=anon(supabase_gateway, "tx=commit"))
    assert kept.headers["preference-applied"] == "tx=commit"
    assert count(supabase_client, supabase_gateway, tag) == 1


def test_an_invalid_value_on_reload_keeps_the_previous_configuration(supabase_client, supabase_gateway, tx_end):
    tx_end("commit-allow-override")
    tx_end("random")        # PostgREST: "Failed reloading config: ..." and the old configuration stays
    assert supabase_gateway.db_config.tx_end == "commit-allow-override"
    assert supabase_gateway.db_config_error == \
        "Failed reloading config: Invalid transaction termination. Check your configuration."
    tag = uuid.uuid4().hex
    rolled = supabase_client.post(ITEMS, json={"tag": tag}, headers=anon(supabase_gateway, "tx=rollback"))
    assert rolled.status_code == 201 and rolled.headers["preference-applied"] == "tx=rollback"
    assert count(supabase_client, supabase_gateway, tag) == 0
    tx_end("")              # empty: the default (PostgREST's optString drops "")
    assert supabase_gateway.db_config.tx_end == "commit" and supabase_gateway.db_config_error is None


def test_an_invalid_value_before_any_valid_one_is_a_500_naming_it(supabase_client, supabase_gateway, tx_end):
    tx_end("Commit", wait=False)        # values are case-sensitive
    supabase_gateway.db_config = None   # as if the gateway were starting: PostgREST would not start
    refused = supabase_client.get(f"{ITEMS}?limit=0", headers=anon(supabase_gateway))
    assert refused.status_code == 500
    body = refused.json()
    assert body["code"] == "DUALSYNC500" and "pgrst.db_tx_end = 'Commit'" in body["message"]
    assert "Invalid transaction termination" in body["message"] and "rollback-allow-override" in body["hint"]
    tx_end("commit-allow-override")
    assert supabase_client.get(f"{ITEMS}?limit=0", headers=anon(supabase_gateway)).status_code == 200


def test_explain_analyze_rolls_back_with_tx_rollback(supabase_client, supabase_gateway, tx_end, pg):
    """v14's plan replies end their transaction as any other: with ANALYZE a write stays only on a commit."""
    with psycopg.connect(pg.admin.dsn(), autocommit=True) as conn:
        database = conn.execute("select current_database()").fetchone()[0]
        conn.execute(f"alter role authenticator in database {database} set pgrst.db_plan_enabled = 'true'")
        try:
            tx_end("commit-allow-override")
            tag = uuid.uuid4().hex
            accept = {"Accept": "application/vnd.pgrst.plan+json; options=analyze"}
            for prefer, kept in (("tx=rollback", 0), ("tx=commit", 1)):
                plan = supabase_client.post(ITEMS, json={"tag": tag}, headers={**anon(supabase_gateway, prefer), **accept})
                assert plan.status_code == 200 and "preference-applied" not in plan.headers
                assert count(supabase_client, supabase_gateway, tag) == kept
        finally:
            conn.execute(f"alter role authenticator in database {database} reset pgrst.db_plan_enabled")


def test_the_hook_learns_how_the_transaction_ends(supabase_client, supabase_gateway, tx_end):
    tx_end("commit-allow-override")
    seen = []

    async def hook(info):
        seen.append((info.operation, info.rollback))
    supabase_gateway.before_commit = hook
    tag = uuid.uuid4().hex
    for prefer in ("tx=rollback", "tx=commit"):
        supabase_client.post(ITEMS, json={"tag": tag}, headers=anon(supabase_gateway, prefer))
    assert seen == [("insert", True), ("insert", False)]


@pytest.mark.parametrize("prefer, allow, expected", [
    ("tx=rollback", False, {}),
    ("tx=rollback", True, {"tx": "rollback"}),
    ("tx=maybe, tx=commit, tx=rollback", True, {"tx": "commit"}),      # the first valid one wins
    ("handling=strict, tx=commit", False, {"handling": "strict"}),     # valid, so not PGRST122
])
def test_prefer_tx_parsing(prefer, allow, expected):
    assert rest.parse_prefer([prefer], allow_tx=allow) == expected


@pytest.mark.parametrize("value, rollback_all, override", [
    (None, False, False), ("", False, False), ("commit", False, False), ("commit-allow-override", False, True),
    ("rollback", True, False), ("rollback-allow-override", True, True)])
def test_db_tx_end_values(value, rollback_all, override):
    config = dbconfig.parse({} if value is None else {"db_tx_end": value})
    assert (config.tx_rollback_all, config.tx_allow_override) == (rollback_all, override)
    assert config.rolls_back(None) == rollback_all
    assert config.rolls_back("commit") is False
    assert config.rolls_back("rollback") is True


def test_the_database_setting_beats_the_gateway_option():
    """v14's overrideFromDbOrEnvironment: pgrst.db_tx_end first, then PGRST_DB_TX_END (here the
    gateway's db_tx_end); an empty database value is dropped to the default, commit."""
    assert dbconfig.parse({}, "commit-allow-override").tx_end == "commit-allow-override"
    assert dbconfig.parse({"db_tx_end": "rollback"}, "commit-allow-override").tx_end == "rollback"
    assert dbconfig.parse({"db_tx_end": ""}, "commit-allow-override").tx_end == "commit"


def test_the_gateway_option(pg_database, supabase_loop, pg):
    import httpx
    from dualsync.fakes.supabase import Gateway, GatewayConfig
    from dualsync.fakes.supabase.__main__ import parse_args
    from dualsync.fakes.supabase.serving import InProcessTransport
    with pytest.raises(ValueError, match="db_tx_end 'sometimes': use one of commit, commit-allow-override"):
        GatewayConfig(rest_dsn="postgresql://x", db_tx_end="sometimes")
    with pytest.raises(SystemExit) as exited:
        parse_args(["--port", "0", "--db-tx-end", "sometimes"])
    assert exited.value.code == 2
    with psycopg.connect(pg.admin.dsn(), autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text())
    gateway = Gateway(GatewayConfig(rest_dsn=pg_database.authenticator.dsn(), admin_dsn=pg_database.admin.dsn(),
                                    db_tx_end="rollback-allow-override"))
    try:
        with httpx.Client(transport=InProcessTransport(gateway.app, supabase_loop), base_url="http://gw") as client:
            tag = uuid.uuid4().hex
            dropped = client.post(ITEMS, json={"tag": tag}, headers=anon(gateway))
            kept = client.post(ITEMS, json={"tag": tag}, headers=anon(gateway, "tx=commit"))
            assert dropped.status_code == kept.status_code == 201 and kept.headers["preference-applied"] == "tx=commit"
            assert count(client, gateway, tag) == 1
    finally:
        gateway.close()


@pytest.mark.parametrize("value", ["random", "Commit", " commit", "commit-allow-overrides"])
def test_db_tx_end_refuses_other_values(value):
    with pytest.raises(dbconfig.ConfigError, match="Invalid transaction termination. Check your configuration."):
        dbconfig.parse({"db_tx_end": value})


def test_the_standalone_gateway_refuses_to_start_with_an_invalid_value(tmp_path, pg_server):
    """As PostgREST at start-up: an invalid db-tx-end stops it (one line, exit 2, no traceback)."""
    import subprocess
    import sys
    db = pg_server.new_database("txend")
    bad = tmp_path / "tx-end.sql"      # this database only: the server is shared
    bad.write_text("do $$ begin execute format('alter role authenticator in database %I set pgrst.db_tx_end = %L', "
                   "current_database(), 'sometimes'); end $$;\n")
    try:
        done = subprocess.run([sys.executable, "-m", "dualsync.fakes.supabase", "--port", "0", "--dsn", db.admin.dsn(),
                               "--sql", str(bad)], capture_output=True, text=True, timeout=120)
    finally:
        pg_server.drop_database(db)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "pgrst.db_tx_end = 'sometimes'" in lines[0] and "Invalid transaction termination" in lines[0]
    assert done.stdout == ""


PREFER_ITEMS = ["tx=rollback", "tx=commit", "tx=maybe", "tx=", "tx", "TX=rollback", " tx=rollback ", "tx=commit,",
                "return=representation", "count=exact", "handling=strict", "max-affected=1", "max-affected=9",
                "missing=default", "resolution=merge-duplicates", "timezone=UTC", "bogus"]


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(items=st.lists(st.sampled_from(PREFER_ITEMS), max_size=4), target=st.integers(0, 5), bad_body=st.booleans())
def test_requests_under_override_end_as_their_first_valid_tx_says(supabase_client, supabase_gateway, tx_end, pg,
                                                                 items, target, bad_body):
    """Generated Prefer headers on every kind of request under commit-allow-override: never a 5xx; the
    first valid `tx=` (items are split at commas and stripped, as v14 reads them) is in
    Preference-Applied on success and nowhere on an error; a rollback or an error leaves the rows as
    they were."""
    if supabase_gateway.db_config is None or not supabase_gateway.db_config.tx_allow_override:
        tx_end("commit-allow-override")
    tag = "txfuzz"
    with psycopg.connect(pg.admin.dsn(), autocommit=True) as conn:
        def snapshot():
            return conn.execute("select id, note from contract_rest_items where tag = %s order by id", (tag,)).fetchall()
        if not snapshot():
            conn.execute("insert into contract_rest_items (tag, note) values (%s, 'a'), (%s, 'b')", (tag, tag))
        before = snapshot()
        row_id = str(before[0][0])
        body = b"{" if bad_body else None
        headers = {**anon(supabase_gateway), "Prefer": ", ".join(items)}
        method, path, payload = [
            ("GET", f"{ITEMS}?tag=eq.{tag}", None),
            ("POST", ITEMS, {"tag": tag, "note": "new"}),
            ("PATCH", f"{ITEMS}?tag=eq.{tag}", {"note": "patched"}),
            ("DELETE", f"{ITEMS}?tag=eq.{tag}", None),
            ("PUT", f"{ITEMS}?id=eq.{row_id}", {"id": row_id, "tag": tag, "note": "put"}),
            ("POST", "/rest/v1/rpc/contract_tx_insert", {"tag": tag, "copies": 2}),
        ][target]
        response = supabase_client.request(method, path, headers=headers,
                                           **({"content": body} if body is not None and payload is not None
                                              else {"json": payload} if payload is not None else {}))
        assert response.status_code < 500, response.text
        valid = [p.strip() for h in items for p in h.split(",") if p.strip() in ("tx=commit", "tx=rollback")]
        applied = response.headers.get("preference-applied", "")
        if response.status_code >= 400:
            assert "tx=" not in applied and snapshot() == before, response.text
            return
        expected = valid[0] if valid else None
        assert [p for p in applied.split(", ") if p.startswith("tx=")] == ([expected] if expected else [])
        if expected == "tx=rollback":
            assert snapshot() == before
        elif snapshot() != before:     # something committed: the next example starts from fresh rows
            conn.execute("delete from contract_rest_items where tag = %s", (tag,))
