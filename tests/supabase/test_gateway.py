"""Gateway behaviour the harness relies on: virtual clock, held commits, faults, reset, schema reload."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import httpx
import psycopg
import pytest

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


def run(coro):
    return asyncio.run(coro)


def client(gateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(gateway.app), base_url="http://gateway.local")


async def sign_up(c: httpx.AsyncClient, gateway) -> dict:
    r = await c.post("/auth/v1/signup", json={"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "secret-1"},
                     headers={"apikey": gateway.config.anon_key})
    assert r.status_code == 200, r.text
    session = r.json()
    session["headers"] = {"apikey": gateway.config.anon_key, "Authorization": f"Bearer {session['access_token']}"}
    return session


def row(**fields) -> dict:
    return {"id": str(uuid.uuid4()), "payload": "p", "client_modified_at": "2030-01-01T00:00:00Z", **fields}


def test_injected_clock_stamps_updated_at(supabase_gateway):
    supabase_gateway.control.set_clock(T0)

    async def scenario():
        async with client(supabase_gateway) as c:
            user = await sign_up(c, supabase_gateway)
            r = await c.post("/rest/v1/daily_logs?select=updated_at", json=row(),
                             headers={**user["headers"], "Prefer": "return=representation"})
            supabase_gateway.control.advance_clock(90)
            r2 = await c.post("/rest/v1/daily_logs?select=updated_at", json=row(),
                              headers={**user["headers"], "Prefer": "return=representation"})
            return r.json()[0]["updated_at"], r2.json()[0]["updated_at"], user
    first, second, user = run(scenario())
    assert first == "2030-01-01T00:00:00+00:00" and second == "2030-01-01T00:01:30+00:00"
    assert user["expires_at"] == int(T0.timestamp()) + 3600


def test_tokens_expire_on_the_virtual_clock(supabase_gateway):
    supabase_gateway.control.set_clock(T0)

    async def scenario():
        async with client(supabase_gateway) as c:
            user = await sign_up(c, supabase_gateway)
            supabase_gateway.control.advance_clock(3600 + 31)       # past exp and PostgREST's 30 s skew
            rest = await c.get("/rest/v1/daily_logs", headers=user["headers"])
            auth = await c.get("/auth/v1/user", headers={**user["headers"], "X-Supabase-Api-Version": "2024-01-01"})
            return rest, auth
    rest, auth = run(scenario())
    assert rest.status_code == 401 and rest.json()["code"] == "PGRST303"
    assert auth.status_code == 403 and auth.json()["code"] == "bad_jwt"


def test_held_write_commits_after_a_later_one(supabase_gateway):
    """The classic skipped row: A gets the earlier server time but commits after B."""
    supabase_gateway.control.set_clock(T0)
    seen = []

    async def scenario():
        gate = asyncio.Event()

        async def hold_first_insert(info):
            seen.append(info)
            if info.operation == "insert" and len(seen) == 1:
                supabase_gateway.control.advance_clock(1)     # B will be stamped one second later
                await gate.wait()

        async with client(supabase_gateway) as c:
            user = await sign_up(c, supabase_gateway)
            supabase_gateway.before_commit = hold_first_insert
            a, b = row(payload="A"), row(payload="B")
            task_a = asyncio.create_task(c.post("/rest/v1/daily_logs", json=a, headers=user["headers"]))
            while not seen:
                await asyncio.sleep(0)
            assert (await c.post("/rest/v1/daily_logs", json=b, headers=user["headers"])).status_code == 201
            pull = "/rest/v1/daily_logs?select=payload,updated_at&order=updated_at,id"
            before = (await c.get(pull, headers=user["headers"])).json()
            gate.set()
            assert (await task_a).status_code == 201
            after = (await c.get(pull, headers=user["headers"])).json()
            return before, after
    before, after = run(scenario())
    assert [r["payload"] for r in before] == ["B"]
    assert [r["payload"] for r in after] == ["A", "B"]          # A sorts before the cursor already past B
    assert seen[0].method == "POST" and seen[0].target == "daily_logs" and seen[0].rows == 1


def test_hold_fault_over_http(supabase_gateway, supabase_server):
    base = supabase_server.url

    async def scenario():
        async with httpx.AsyncClient(base_url=base) as c:
            user = await sign_up(c, supabase_gateway)
            fault = (await c.post("/__dualsync/faults", json={"action": "hold", "method": "POST",
                                                              "path": "/rest/v1/daily_logs"})).json()
            write = asyncio.create_task(c.post("/rest/v1/daily_logs", json=row(), headers=user["headers"]))
            held = []
            for _ in range(500):
                held = (await c.get("/__dualsync/held")).json()
                if held:
                    break
                await asyncio.sleep(0.01)
            assert not write.done()
            released = await c.post(f"/__dualsync/held/{held[0]['seq']}/release")
            return fault, held, released, await write
    fault, held, released, write = run(scenario())
    assert fault["action"] == "hold" and held[0]["operation"] == "insert"
    assert released.status_code == 200 and write.status_code == 201


def test_fail_and_fail_after_commit(supabase_gateway):
    async def scenario():
        async with client(supabase_gateway) as c:
            user = await sign_up(c, supabase_gateway)
            supabase_gateway.control.add_fault("fail", method="POST", path="/rest/v1/daily_logs", status=503)
            failed = await c.post("/rest/v1/daily_logs", json=row(payload="never"), headers=user["headers"])
            supabase_gateway.control.add_fault("fail_after_commit", method="POST", status=504)
            lost = await c.post("/rest/v1/daily_logs", json=row(payload="stored"), headers=user["headers"])
            rows = (await c.get("/rest/v1/daily_logs?select=payload", headers=user["headers"])).json()
            return failed, lost, rows
    failed, lost, rows = run(scenario())
    assert failed.status_code == 503 and lost.status_code == 504
    assert rows == [{"payload": "stored"}]


def test_control_reset_and_clock_over_http(supabase_gateway, supabase_server):
    with httpx.Client(base_url=supabase_server.url) as c:
        user = run(_sign_up_sync(supabase_gateway, supabase_server.url))
        assert c.post("/rest/v1/daily_logs", json=row(), headers=user["headers"]).status_code == 201
        assert c.post("/__dualsync/clock", json={"now": "2031-05-01T00:00:00Z"}).json()["now"].startswith("2031-05-01")
        assert c.post("/__dualsync/clock", json={"advance": 60}).json()["now"].startswith("2031-05-01T00:01")
        assert c.post("/__dualsync/clock", json={"now": "yesterday"}).status_code == 400
        assert c.post("/__dualsync/faults", json={"action": "explode"}).status_code == 400
        assert c.post("/__dualsync/nope").status_code == 404
        assert c.post("/__dualsync/reset").json() == {"reset": True}
        service = {"apikey": supabase_gateway.config.service_key,
                   "Authorization": f"Bearer {supabase_gateway.config.service_key}"}
        assert c.get("/rest/v1/daily_logs", headers=service).json() == []


async def _sign_up_sync(gateway, url):
    async with httpx.AsyncClient(base_url=url) as c:
        return await sign_up(c, gateway)


def test_schema_changes_are_picked_up(supabase_gateway, pg):
    async def scenario():
        async with client(supabase_gateway) as c:
            service = {"apikey": supabase_gateway.config.service_key,
                       "Authorization": f"Bearer {supabase_gateway.config.service_key}"}
            before = await c.get("/rest/v1/scratch_notes", headers=service)
            with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
                admin.execute("create table public.scratch_notes (id int primary key, body text)")
                admin.execute("grant all on public.scratch_notes to service_role")
            created = await c.post("/rest/v1/scratch_notes", json={"id": 1, "body": "x"}, headers=service)
            with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
                admin.execute("alter table public.scratch_notes add column tag text")
            altered = await c.post("/rest/v1/scratch_notes", json={"id": 2, "body": "y", "tag": "t"}, headers=service)
            rows = await c.get("/rest/v1/scratch_notes?select=id,tag&order=id", headers=service)
            return before, created, altered, rows
    try:
        before, created, altered, rows = run(scenario())
    finally:
        with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
            admin.execute("drop table if exists public.scratch_notes")
    assert before.status_code == 404 and created.status_code == 201 and altered.status_code == 201
    assert rows.json() == [{"id": 1, "tag": None}, {"id": 2, "tag": "t"}]


def test_refresh_token_reuse_interval(supabase_gateway):
    supabase_gateway.control.set_clock(T0)

    async def refresh(c, token):
        return await c.post("/auth/v1/token?grant_type=refresh_token", json={"refresh_token": token},
                            headers={"apikey": supabase_gateway.config.anon_key, "X-Supabase-Api-Version": "2024-01-01"})

    async def scenario():
        async with client(supabase_gateway) as c:
            t0 = (await sign_up(c, supabase_gateway))["refresh_token"]
            t1 = (await refresh(c, t0)).json()["refresh_token"]
            t2 = (await refresh(c, t1)).json()["refresh_token"]
            within = await refresh(c, t0)                 # revoked, not the active token's parent, in interval
            supabase_gateway.control.advance_clock(11)
            reused = await refresh(c, t1)                 # outside the interval: its descendants are revoked
            after = await refresh(c, t2)
            return within, reused, after, t2
    within, reused, after, t2 = run(scenario())
    assert within.status_code == 200 and within.json()["refresh_token"] != t2
    assert reused.status_code == 400 and reused.json()["code"] == "refresh_token_already_used"
    assert after.status_code == 400


def test_cli_profile_skips_the_apikey_gate(supabase_gateway):
    supabase_gateway.config.apikey_profile = "cli"
    try:
        response = run(_get(supabase_gateway, "/rest/v1/daily_logs", {}))
    finally:
        supabase_gateway.config.apikey_profile = "hosted"
    assert response.status_code == 200 and response.json() == []


def test_oversized_body_is_413(supabase_gateway):
    limit = supabase_gateway.config.max_body_bytes
    supabase_gateway.config.max_body_bytes = 1000
    try:
        response = run(_post(supabase_gateway, "/rest/v1/daily_logs", [row(payload="x" * 2000)]))
    finally:
        supabase_gateway.config.max_body_bytes = limit
    assert response.status_code == 413 and response.json()["code"] == "PGRST413"


async def _get(gateway, path, headers):
    async with client(gateway) as c:
        return await c.get(path, headers=headers)


async def _post(gateway, path, body):
    async with client(gateway) as c:
        user = await sign_up(c, gateway)
        return await c.post(path, json=body, headers=user["headers"])


@pytest.mark.parametrize("bad", [{"action": "hold", "times": 0}, {"action": "fail", "status": 42}, {"method": "GET"}])
def test_bad_fault_requests_name_the_field(supabase_gateway, supabase_server, bad):
    response = httpx.post(f"{supabase_server.url}/__dualsync/faults", json=bad)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_control_request"


def test_notify_pgrst_reloads_the_schema_cache(supabase_gateway, pg):
    """`*` expands from the cache, so a new column shows in rows only once the cache has reloaded."""
    async def scenario():
        async with client(supabase_gateway) as c:
            user = await sign_up(c, supabase_gateway)
            await c.post("/rest/v1/daily_logs", json=row(), headers=user["headers"])
            await c.get("/rest/v1/daily_logs", headers=user["headers"])          # cache loaded
            with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
                admin.execute("alter table public.daily_logs add column mood text")
                admin.execute("notify pgrst, 'reload schema'")
            for _ in range(supabase_gateway.config.pool_size):                   # every connection hears it
                await c.get("/rest/v1/daily_logs?limit=0", headers=user["headers"])
            return (await c.get("/rest/v1/daily_logs", headers=user["headers"])).json()
    try:
        rows = run(scenario())
    finally:
        with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
            admin.execute("alter table public.daily_logs drop column if exists mood")
        supabase_gateway.cache = None
    assert "mood" in rows[0]


def test_dropped_column_is_forgotten_after_one_error(supabase_gateway, pg):
    with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
        admin.execute("alter table public.daily_logs add column scratch text")

    async def scenario():
        async with client(supabase_gateway) as c:
            user = await sign_up(c, supabase_gateway)
            await supabase_gateway.reload_schema()
            with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
                admin.execute("alter table public.daily_logs drop column scratch")
            statuses = []
            for _ in range(3):
                statuses.append((await c.get("/rest/v1/daily_logs", headers=user["headers"])).status_code)
            return statuses
    statuses = run(scenario())
    assert statuses[-1] == 200 and statuses.count(200) >= 2
