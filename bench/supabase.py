"""Supabase gateway throughput and latency beside raw psycopg running the same work.

Two operations a sync client repeats: a cursor pull (`updated_at > X order by updated_at, id limit
500` over 500 of the user's rows) and a 100-row upsert (merge-duplicates). Each is timed four ways
in the same run, all as the signed-in user through RLS:

    raw        psycopg: BEGIN; set role + claims; the plain query (rows as tuples); COMMIT
    raw-same   psycopg: the gateway's own transaction and SQL (JSON rendered by PostgreSQL)
    inprocess  HTTP through httpx.ASGITransport into the gateway
    loopback   HTTP over 127.0.0.1 to the gateway under uvicorn

Latency figures carry every sample (median = p50); p99 and requests/s are single values.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
import uuid

import httpx
import psycopg

from dualsync.bench import Figure

PULL_SQL = ("select id, user_id, payload, key_version, client_modified_at, updated_at, deleted from public.daily_logs "
            "where updated_at > %s order by updated_at, id limit 500")
UPSERT_SQL = ("insert into public.daily_logs (id, payload, client_modified_at) "
              "select id, payload, client_modified_at from json_populate_recordset(null::public.daily_logs, %s::json) "
              "on conflict (id) do update set payload = excluded.payload, client_modified_at = excluded.client_modified_at")
SETUP_SQL = "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true)"
SINCE = "2000-01-01T00:00:00Z"


def rows(n: int, tag: str) -> list[dict]:
    return [{"id": str(uuid.UUID(int=i + 1)), "payload": f"{tag}-{i}", "client_modified_at": "2030-01-01T00:00:00Z"}
            for i in range(n)]


async def timed_async(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def raw_transaction(conn, claims: str, sql: str, params) -> None:
    await conn.execute("BEGIN")
    await conn.execute(SETUP_SQL, (claims,))
    cur = await conn.execute(sql, params)
    if cur.description:
        await cur.fetchall()
    await conn.execute("COMMIT")


def figures(name: str, samples: dict[str, list[float]]) -> list[Figure]:
    out = []
    raw_p50 = statistics.median(samples["raw"])
    for way, values in samples.items():
        p99 = sorted(values)[max(0, int(len(values) * 0.99) - 1)]
        out.append(Figure(f"{name} {way} latency", "ms", values, "median = p50"))
        out.append(Figure(f"{name} {way} p99", "ms", [p99]))
        out.append(Figure(f"{name} {way} throughput", "req/s", [1000 * len(values) / sum(values)], "sequential"))
        if way != "raw":
            out.append(Figure(f"{name} {way} / raw p50", "x", [statistics.median(values) / raw_p50]))
    return out


@contextlib.asynccontextmanager
async def clients(gateway, server_url: str, dsn: str, tag: str):
    """What a gateway benchmark drives: HTTP into the gateway in process and over loopback, an
    autocommit psycopg connection for the raw ways, and the session of a user signed up for it."""
    headers = {"apikey": gateway.config.anon_key}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(gateway.app), base_url="http://gateway.local") as inproc, \
            httpx.AsyncClient(base_url=server_url) as loop, await psycopg.AsyncConnection.connect(dsn) as conn:
        await conn.set_autocommit(True)
        session = (await inproc.post("/auth/v1/signup", json={"email": f"{tag}-{uuid.uuid4().hex[:8]}@example.com",
                                                              "password": "bench-password"}, headers=headers)).json()
        yield inproc, loop, conn, session


async def measure(gateway, server_url: str, dsn: str, repeat: int) -> list[Figure]:
    headers = {"apikey": gateway.config.anon_key}
    async with clients(gateway, server_url, dsn, "bench") as (inproc, loop, conn, session):
        auth = {**headers, "Authorization": f"Bearer {session['access_token']}"}
        claims = json.dumps({"sub": session["user"]["id"], "role": "authenticated"})
        seeded = await inproc.post("/rest/v1/daily_logs", json=rows(500, "seed"), headers=auth)
        assert seeded.status_code == 201, seeded.text
        pull = f"/rest/v1/daily_logs?updated_at=gt.{SINCE}&order=updated_at,id&limit=500"
        upsert_body = rows(100, "upsert")
        prefer = {**auth, "Prefer": "resolution=merge-duplicates"}
        plans = {
            "cursor pull (500 rows)": {
                "raw": lambda: raw_transaction(conn, claims, PULL_SQL, (SINCE,)),
                "raw-same": lambda: gateway_sql(conn, gateway, claims, "pull"),
                "inprocess": lambda: expect(inproc.get(pull, headers=auth), 200),
                "loopback": lambda: expect(loop.get(pull, headers=auth), 200)},
            "upsert (100 rows)": {
                "raw": lambda: raw_transaction(conn, claims, UPSERT_SQL, (json.dumps(upsert_body),)),
                "raw-same": lambda: gateway_sql(conn, gateway, claims, "upsert", upsert_body),
                "inprocess": lambda: expect(inproc.post("/rest/v1/daily_logs", json=upsert_body, headers=prefer), 200),
                "loopback": lambda: expect(loop.post("/rest/v1/daily_logs", json=upsert_body, headers=prefer), 200)},
        }
        out = []
        for name, ways in plans.items():
            samples = {}
            for way, fn in ways.items():
                await timed_async(fn, max(3, repeat // 10))          # warm: prepared statements, pools
                samples[way] = await timed_async(fn, repeat)
            out.extend(figures(name, samples))
        return out


async def expect(request, status: int) -> None:
    response = await request
    assert response.status_code == status, response.text


async def gateway_sql(conn, gateway, claims: str, which: str, body=None) -> None:
    """The statement the gateway builds for the same request, run without HTTP."""
    from dualsync.fakes.supabase import grammar, statements
    table = await gateway.table("daily_logs")
    if which == "pull":
        shape = statements.Shape([grammar.SelectItem(None)], [grammar.parse_filter("updated_at", f"gt.{SINCE}")],
                                 grammar.parse_order("updated_at,id"), 500)
        stmt = statements.read(table, shape)
    else:
        shape = statements.Shape([grammar.SelectItem(None)], [], [], body=False)
        stmt = statements.insert(table, list(body[0]), body, shape, resolution="merge-duplicates",
                                 conflict=["id"], missing_default=False)
    await raw_transaction(conn, claims, stmt.composed(), stmt.params)


def run(quick: bool) -> list[Figure]:
    from dualsync.fakes.postgres import start_server
    from dualsync.fakes.supabase import Gateway, GatewayConfig
    from dualsync.fakes.supabase.serving import LoopbackServer
    server = start_server()
    db = server.new_database("bench")
    gateway = Gateway(GatewayConfig(rest_dsn=db.authenticator.dsn(), admin_dsn=db.admin.dsn()))
    loopback = LoopbackServer(gateway.app).start()
    try:
        return asyncio.run(_measure_and_close(gateway, loopback.url, db.authenticator.dsn(), 30 if quick else 300))
    finally:
        loopback.stop()
        gateway.close()
        server.drop_database(db)
        server.stop()


async def _measure_and_close(gateway, url: str, dsn: str, repeat: int) -> list[Figure]:
    try:
        return await measure(gateway, url, dsn, repeat)
    finally:
        await gateway.aclose()
