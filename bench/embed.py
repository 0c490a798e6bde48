"""A one-level resource embed through the gateway beside the same query in raw SQL, in one run.

100 parents with 20 children each, all one user's, read as that user through RLS:

    raw        psycopg: BEGIN; set role + the token's claims; one query whose JSON PostgreSQL renders
               (json_agg of the parents, each with json_agg of its children); COMMIT
    raw-same   psycopg: the gateway's own statement for the request (captured), in the same
               transaction: the SQL's share of the gateway's time, without Python or HTTP
    inprocess  GET /rest/v1/parents?select=*,children(*) through httpx.ASGITransport
    loopback   the same request over 127.0.0.1 to the gateway under uvicorn (httpx)
    loopback-bare  the same again, read by a minimal keep-alive HTTP/1.1 client (asyncio streams): the
               gateway's share over loopback without httpx's parsing, which runs in this process and
               shares the GIL with the server's thread (about 3.5 ms of a 16 ms p50 in our runs)

Before timing, the gateway's answer is checked against the raw query's (same parents, same
children), so the two do the same work. A gateway without resource embedding is reported as such
(`Unavailable`), never timed.    ./dualsync bench embed [--quick]
"""

from __future__ import annotations

import asyncio
import json
import statistics

import httpx
import jwt
import psycopg

from dualsync.bench import Figure, Unavailable
from dualsync.bench.supabase import SETUP_SQL, clients, timed_async

PARENTS, CHILDREN = 100, 20
# The policies read `(select auth.uid())`, as Supabase advises: evaluated once per statement. A bare
# `auth.uid()` parses the JWT claims once per row (2,100 rows here), which made raw SQL itself about
# three times slower in our runs, gateway or not.
PATH = "/rest/v1/parents?select=*,children(*)"

SCHEMA_SQL = """
create table if not exists public.parents (
  id bigint primary key,
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  name text not null,
  created_at timestamptz not null default now()
);
create table if not exists public.children (
  id bigint primary key,
  parent_id bigint not null references public.parents (id) on delete cascade,
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  name text not null,
  position integer not null,
  payload text not null
);
create index if not exists children_parent on public.children (parent_id);
alter table public.parents enable row level security;
alter table public.children enable row level security;
create policy "owner reads" on public.parents for select to authenticated using ((select auth.uid()) = user_id);
create policy "owner reads" on public.children for select to authenticated using ((select auth.uid()) = user_id);
grant select on public.parents, public.children to authenticated;
"""

SEED_SQL = """
insert into public.parents (id, user_id, name) select p, %(user)s, 'parent ' || p from generate_series(1, %(parents)s) p;
insert into public.children (id, parent_id, user_id, name, position, payload)
  select (p - 1) * %(children)s + c, p, %(user)s, 'child ' || c, c, repeat('x', 40)
  from generate_series(1, %(parents)s) p, generate_series(1, %(children)s) c;
"""

# What PostgREST's own query does for `select=*,children(*)`: a lateral json_agg per parent.
RAW_SQL = """
select coalesce(json_agg(t), '[]')::text from (
  select p.*, coalesce(c.children, '[]') as children
  from public.parents p
  left join lateral (
    select json_agg(ch) as children from (select children.* from public.children where children.parent_id = p.id) ch
  ) c on true
) t
"""


async def raw_embed(conn, claims: str) -> str:
    await conn.execute("BEGIN")
    await conn.execute(SETUP_SQL, (claims,))
    text = (await (await conn.execute(RAW_SQL)).fetchone())[0]
    await conn.execute("COMMIT")
    return text


def canonical(rows: list[dict]) -> list[dict]:
    return sorted(({**p, "children": sorted(p["children"], key=lambda c: c["id"])} for p in rows),
                  key=lambda p: p["id"])


async def measure(gateway, server_url: str, dsn: str, admin_dsn: str, repeat: int,
                  standalone_url: str | None = None) -> list[Figure]:
    headers = {"apikey": gateway.config.anon_key}
    async with clients(gateway, server_url, dsn, "embed") as (inproc, loop, conn, session):
        user = session["user"]["id"]
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            for statement in SEED_SQL.strip().split(";\n"):
                admin.execute(statement, {"user": user, "parents": PARENTS, "children": CHILDREN})
        auth = {**headers, "Authorization": f"Bearer {session['access_token']}"}
        # The claims the gateway sets for this token (all of them: RLS's auth.uid() parses them per row)
        claims = json.dumps(jwt.decode(session["access_token"], options={"verify_signature": False}),
                            separators=(",", ":"))

        captured = []
        execute = gateway.execute

        async def capture(ctx, operation, target, statement, **kw):
            captured.append(statement)
            return await execute(ctx, operation, target, statement, **kw)
        gateway.execute = capture
        probe = await inproc.get(PATH, headers=auth)
        gateway.execute = execute
        if probe.status_code != 200:
            raise Unavailable(f"resource embedding is missing from this gateway: GET {PATH} answered "
                              f"{probe.status_code} {probe.text[:160]}; merge the embedding work and run again")
        expected = canonical(json.loads(await raw_embed(conn, claims)))
        if canonical(probe.json()) != expected or len(expected) != PARENTS:
            raise Unavailable(f"GET {PATH} does not answer what the raw query does "
                              f"({len(probe.json())} parents against {len(expected)}); not timed")

        async def through(client):
            r = await client.get(PATH, headers=auth)
            assert r.status_code == 200, r.text

        same = captured[-1] if captured else None

        async def raw_same():
            await conn.execute("BEGIN")
            await conn.execute(SETUP_SQL, (claims,))
            await (await conn.execute(same.composed(), same.params)).fetchone()
            await conn.execute("COMMIT")

        bare = await BareClient.open(server_url, PATH, auth)
        ways = {"raw": lambda: raw_embed(conn, claims), "raw-same": raw_same, "inprocess": lambda: through(inproc),
                "loopback": lambda: through(loop), "loopback-bare": bare.get}
        apart = httpx.AsyncClient(base_url=standalone_url) if standalone_url else None
        if apart is not None:
            answer = await apart.get(PATH, headers=auth)
            if answer.status_code != 200 or canonical(answer.json()) != expected:
                raise Unavailable(f"the standalone gateway at {standalone_url} does not answer GET {PATH} as the "
                                  f"raw query does ({answer.status_code} {answer.text[:160]}); not timed")
            ways["standalone"] = lambda: through(apart)
        samples = {way: [] for way in ways}
        for _ in range(max(3, repeat // 10)):           # warm: prepared statements, pools, schema cache
            for fn in ways.values():
                await fn()
        for _ in range(repeat):                          # interleaved: every way sees the same machine
            for way, fn in ways.items():
                samples[way].extend(await timed_async(fn, 1))
        bare.writer.close()
        if apart is not None:
            await apart.aclose()
    raw_p50 = statistics.median(samples["raw"])
    out = []
    for way, values in samples.items():
        p99 = sorted(values)[max(0, int(len(values) * 0.99) - 1)]
        out.append(Figure(f"embed {PARENTS}x{CHILDREN} {way} latency", "ms", values, "median = p50"))
        out.append(Figure(f"embed {way} p99", "ms", [p99]))
        if way != "raw":
            out.append(Figure(f"embed {way} / raw p50", "x", [statistics.median(values) / raw_p50], "target <= 2"))
    return out


class BareClient:
    """GET one path again and again on one keep-alive connection; the status must be 200 and the
    body is read whole (Content-Length), nothing else is parsed."""

    def __init__(self, reader, writer, request: bytes):
        self.reader, self.writer, self.request = reader, writer, request

    @classmethod
    async def open(cls, url: str, path: str, headers: dict[str, str]) -> "BareClient":
        host, port = url.split("//", 1)[1].rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
        return cls(reader, writer, ("\r\n".join(lines) + "\r\n\r\n").encode())

    async def get(self) -> None:
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head[:80]
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await self.reader.readexactly(length)


def run(quick: bool) -> list[Figure]:
    from dualsync.fakes.postgres import start_server
    server = start_server()
    try:
        return run_on(server, 30 if quick else 200)
    finally:
        server.stop()


def run_on(server, repeat: int, standalone: bool = True, **config) -> list[Figure]:
    """The benchmark on a fresh database of `server`, through a gateway made with `config` (and,
    with `standalone`, the standalone gateway in its own process on the same database)."""
    from dualsync.fakes.supabase import Gateway, GatewayConfig
    from dualsync.fakes.supabase.serving import LoopbackServer
    db = server.new_database("bench_embed")
    try:
        with psycopg.connect(db.admin.dsn(), autocommit=True) as admin:
            admin.execute(SCHEMA_SQL)
        gateway = Gateway(GatewayConfig(rest_dsn=db.authenticator.dsn(), admin_dsn=db.admin.dsn(), **config))
        loopback = LoopbackServer(gateway.app).start()
        apart = standalone_gateway(db.admin.dsn()) if standalone else None
        try:
            return asyncio.run(_measure_and_close(gateway, loopback.url, db, repeat, apart and apart.url))
        finally:
            if apart is not None:
                apart.stop()
            loopback.stop()
            gateway.close()
    finally:
        server.drop_database(db)


def standalone_gateway(admin_dsn: str, timeout: float = 60.0):
    from dualsync.fakes.supabase.standalone import StandaloneError, StandaloneGateway
    try:
        return StandaloneGateway("--dsn", admin_dsn, timeout=timeout)
    except StandaloneError as exc:
        raise Unavailable(str(exc)) from None


async def _measure_and_close(gateway, url: str, db, repeat: int, standalone_url: str | None) -> list[Figure]:
    try:
        return await measure(gateway, url, db.authenticator.dsn(), db.admin.dsn(), repeat, standalone_url)
    finally:
        await gateway.aclose()
