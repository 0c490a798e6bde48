"""The generated SQL is composed once per request shape (shapes.StatementCache) and each request binds
its own values: the same rows as composing every time, a new shape for anything that changes the SQL
(another column, table, schema, `is` value, body columns), nothing stale after a schema reload.

Each check that is meant to catch a wrong key is also run against a cache with that key broken, and
must fail there."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import httpx
import psycopg
import pytest

from dualsync.fakes.supabase import grammar, shapes, statements
from dualsync.fakes.supabase.grammar import Field, SelectItem
from dualsync.fakes.supabase.schema import Column, Table

from .test_gateway import client, sign_up

LOGS = Table("public", "logs", {"id": Column("id", "uuid", False, False), "n": Column("n", "integer", True, True),
                                "m": Column("m", "integer", True, True)}, ("id",))
OTHER_LOGS = Table("other", "logs", dict(LOGS.columns), ("id",))     # the same name in another schema


def read_shape(*filters: tuple[str, str], order: str | None = None, limit: int | None = None) -> statements.Shape:
    return statements.Shape([SelectItem(None)], [grammar.parse_filter(k, v) for k, v in filters],
                            grammar.parse_order(order) if order else [], limit)


def text(stmt) -> str:
    return stmt.composed().as_string(None)


def served_as_built(cache: shapes.StatementCache, requests: list[tuple[Table, statements.Shape]]) -> None:
    """Every request, served through `cache` in turn, gets exactly the SQL and parameters that
    composing it afresh gives."""
    for table, shape in requests:
        cached, fresh = cache.read(table, shape), statements.read(table, shape)
        assert (text(cached), cached.params) == (text(fresh), fresh.params), shape.filters


class NameKeyed(shapes.StatementCache):
    """Broken on purpose: keyed without the filters' columns and without the table's identity."""

    @staticmethod
    def key(head, table, shape, values):
        key, filters, before = shapes.StatementCache.key(head, table, shape, values)
        blind = tuple(f.__class__(Field("?"), *[getattr(f, n) for n in ("op", "value", "negated", "quantifier",
                                                                        "language")]) for f in filters)
        return (key[0], table.name, *key[2:3], blind, *key[4:]), filters, before

    @staticmethod
    def reusable(entry, table) -> bool:
        return True


def test_one_shape_is_composed_once_and_each_request_binds_its_values():
    cache = shapes.StatementCache()
    first = cache.read(LOGS, read_shape(("n", "eq.1"), ("id", "in.(a,b)"), ("m", "like.x*")))
    second = cache.read(LOGS, read_shape(("n", "eq.2"), ("id", "in.(c,d,e)"), ("m", "like.*y")))
    assert (cache.misses, cache.hits) == (1, 1)
    assert text(first) == text(second)
    assert first.params == ["1", '{"a","b"}', "x%"] and second.params == ["2", '{"c","d","e"}', "%y"]
    served_as_built(shapes.StatementCache(), [(LOGS, read_shape(("n", f"eq.{i}"), ("m", f"like(any).{{{i}*,b}}")))
                                              for i in range(3)])


def test_a_filter_on_another_column_or_table_is_not_served_another_shapes_sql():
    requests = [(LOGS, read_shape(("n", "eq.1"))), (LOGS, read_shape(("m", "eq.1"))),
                (OTHER_LOGS, read_shape(("m", "eq.1"))), (LOGS, read_shape(("n", "is.null"))),
                (LOGS, read_shape(("n", "is.true"))), (LOGS, read_shape(("n", "not.eq.1"))),
                (LOGS, read_shape(("n", "eq.1"), limit=5)), (LOGS, read_shape(("n", "eq.1"), order="m.desc"))]
    cache = shapes.StatementCache()
    served_as_built(cache, requests)
    assert cache.misses == len(requests) and cache.hits == 0
    with pytest.raises(AssertionError):     # the check fails when the key leaves the column out
        served_as_built(NameKeyed(), requests[:2])
    with pytest.raises(AssertionError):     # ... or keys the table by its name, not the Table
        served_as_built(NameKeyed(), [requests[1], requests[2]])


def test_writes_bind_their_body_and_key_on_their_columns():
    cache = shapes.StatementCache()
    shape = statements.Shape([SelectItem(None)], [], [], body=False)
    one = cache.insert(LOGS, ["id", "n"], [{"id": "x", "n": 1}], shape, resolution="merge-duplicates",
                       conflict=["id"], missing_default=False)
    two = cache.insert(LOGS, ["id", "n"], [{"id": "y", "n": 2}, {"id": "z", "n": 3}], shape,
                       resolution="merge-duplicates", conflict=["id"], missing_default=False)
    other = cache.insert(LOGS, ["id", "m"], [{"id": "y", "m": 2}], shape, resolution="merge-duplicates",
                         conflict=["id"], missing_default=False)
    assert text(one) == text(two) != text(other) and '"m" = EXCLUDED."m"' in text(other)
    assert one.params == ['[{"id": "x", "n": 1}]'] and two.params == ['[{"id": "y", "n": 2}, {"id": "z", "n": 3}]']
    patch = read_shape(("id", "eq.x"))
    a = cache.update(LOGS, ["n"], {"n": 1}, dataclasses.replace(patch, body=False))
    b = cache.update(LOGS, ["n"], {"n": 2}, dataclasses.replace(read_shape(("id", "eq.y")), body=False))
    assert text(a) == text(b) and (a.params, b.params) == (['{"n": 1}', "x"], ['{"n": 2}', "y"])
    assert cache.hits == 2


def test_a_shape_that_cannot_be_a_key_is_composed_every_time():
    shape = read_shape(("n", "eq.1"))
    shape.select = [SelectItem(Field("n", path=[("->", "k")]))]      # a list where a tuple belongs: unhashable
    cache = shapes.StatementCache()
    stmt = cache.read(LOGS, shape)
    assert text(stmt) == text(statements.read(LOGS, shape)) and not cache.entries


def test_the_cache_is_bounded_and_cleared():
    cache = shapes.StatementCache(size=2)
    for column in ("n", "m", "n", "id", "m", "n"):
        cache.read(LOGS, read_shape((column, "eq.1")))
    assert len(cache.entries) == 2 and (cache.misses, cache.hits) == (5, 1)    # `id` evicted `m`, then `m` `n`
    cache.clear()
    assert not cache.entries


# ---- through the gateway ------------------------------------------------------------------------

async def signed_up(c, gateway) -> dict:
    return (await sign_up(c, gateway))["headers"]


def log_row(payload: str) -> dict:
    return {"id": str(uuid.uuid4()), "payload": payload, "client_modified_at": "2030-01-01T00:00:00Z"}


def test_requests_of_one_shape_get_their_own_rows(supabase_gateway):
    async def scenario():
        async with client(supabase_gateway) as c:
            auth = await signed_up(c, supabase_gateway)
            rows = [log_row(f"p{i}") for i in range(3)]
            assert (await c.post("/rest/v1/daily_logs", json=rows, headers=auth)).status_code == 201
            # a NOTIFY an earlier test sent reaches each pooled connection on its next statement (and
            # clears the cache): one statement on every connection at once hears them all first
            await asyncio.gather(*[c.get("/rest/v1/daily_logs?limit=0", headers=auth)
                                   for _ in range(supabase_gateway.config.pool_size)])
            before = supabase_gateway.statements.hits
            got = [(await c.get(f"/rest/v1/daily_logs?select=payload&id=eq.{r['id']}", headers=auth)).json()
                   for r in rows]
            listed = [(await c.get(f"/rest/v1/daily_logs?select=payload&id=in.({ids})&order=payload",
                                   headers=auth)).json() for ids in (rows[0]["id"], f"{rows[1]['id']},{rows[2]['id']}")]
            await c.patch(f"/rest/v1/daily_logs?id=eq.{rows[0]['id']}", json={"payload": "changed"}, headers=auth)
            await c.patch(f"/rest/v1/daily_logs?id=eq.{rows[1]['id']}", json={"payload": "again"}, headers=auth)
            after = (await c.get("/rest/v1/daily_logs?select=payload&order=payload", headers=auth)).json()
            return got, listed, after, supabase_gateway.statements.hits - before
    got, listed, after, hits = asyncio.run(scenario())
    assert got == [[{"payload": "p0"}], [{"payload": "p1"}], [{"payload": "p2"}]]
    assert listed == [[{"payload": "p0"}], [{"payload": "p1"}, {"payload": "p2"}]]
    assert after == [{"payload": "again"}, {"payload": "changed"}, {"payload": "p2"}]
    assert hits >= 3            # the second and third reads, the second list and the second PATCH reused SQL


def test_embedded_filters_of_one_shape_get_their_own_rows(supabase_client, supabase_gateway, pg):
    from dualsync.contracts.supabase.targets import SCHEMA_SQL
    with psycopg.connect(pg.admin.dsn(), autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text())
        conn.execute("select public.emb_seed()")
    headers = {"apikey": supabase_gateway.config.anon_key}

    def children(child: int) -> list:
        r = supabase_client.get(f"/rest/v1/emb_parents?select=id,emb_children!inner(id)&emb_children.id=eq.{child}",
                                headers=headers)
        assert r.status_code == 200, r.text
        return r.json()
    # The schema's NOTIFY reaches each pooled connection on its next statement and clears the cache
    # then: repeat until one round ran with the cache untouched (its 2nd and 3rd request reused SQL).
    for _ in range(supabase_gateway.config.pool_size + 2):
        before = supabase_gateway.statements.hits
        assert children(10) == [{"id": 1, "emb_children": [{"id": 10}]}]
        assert children(12) == [{"id": 2, "emb_children": [{"id": 12}]}]
        assert children(99) == []
        if supabase_gateway.statements.hits - before >= 2:
            break
    assert supabase_gateway.statements.hits - before >= 2


def reads_after_reload(gateway, pg, how: str) -> list[dict]:
    """A read, then a column added and another dropped (with NOTIFY pgrst, or the gateway's own
    reload_schema), then the same read: what `select=*` returned the second time."""
    async def scenario():
        async with client(gateway) as c:
            auth = await signed_up(c, gateway)
            await c.post("/rest/v1/daily_logs", json=log_row("x"), headers=auth)
            assert (await c.get("/rest/v1/daily_logs?payload=eq.x", headers=auth)).json()[0]["scratch_old"] is None
            with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
                admin.execute("alter table public.daily_logs add column scratch_new text default 'new'; "
                              "alter table public.daily_logs drop column scratch_old")
                if how == "notify":
                    admin.execute("notify pgrst, 'reload schema'")
            if how == "notify":
                for _ in range(gateway.config.pool_size):       # every connection hears it
                    await c.get("/rest/v1/daily_logs?limit=0", headers=auth)
            else:
                await gateway.reload_schema()
            r = await c.get("/rest/v1/daily_logs?payload=eq.x", headers=auth)
            assert r.status_code == 200, r.text
            return r.json()

    with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
        admin.execute("alter table public.daily_logs add column if not exists scratch_old text")
    gateway.cache = None
    try:
        return asyncio.run(scenario())
    finally:
        with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
            admin.execute("alter table public.daily_logs drop column if exists scratch_new; "
                          "alter table public.daily_logs drop column if exists scratch_old")
        gateway.cache = None


@pytest.mark.parametrize("how", ["notify", "reload_schema"])
def test_a_schema_reload_is_seen_by_the_next_request(supabase_gateway, pg, how):
    rows = reads_after_reload(supabase_gateway, pg, how)
    assert rows[0]["scratch_new"] == "new" and "scratch_old" not in rows[0]


class Stale(NameKeyed):
    """Broken on purpose: keyed on the table's name and never cleared."""

    def clear(self) -> None:
        pass


def test_the_reload_check_fails_on_a_cache_that_keeps_stale_sql(supabase_gateway, pg):
    kept = supabase_gateway.statements
    supabase_gateway.statements = Stale()
    try:
        with pytest.raises(AssertionError):
            test_a_schema_reload_is_seen_by_the_next_request(supabase_gateway, pg, "reload_schema")
    finally:
        supabase_gateway.statements = kept


# ---- two exposed schemas with a table of one name ------------------------------------------------

TWINS = """
create schema if not exists shape_a;
create schema if not exists shape_b;
create table if not exists shape_a.twin (id integer primary key, name text);
create table if not exists shape_b.twin (id integer primary key, name text, extra text default 'b only');
insert into shape_a.twin values (1, 'a-one'), (2, 'a-two') on conflict do nothing;
insert into shape_b.twin values (1, 'b-one'), (2, 'b-two') on conflict do nothing;
grant usage on schema shape_a, shape_b to anon;
grant select on shape_a.twin, shape_b.twin to anon;
"""


def twin_reads(pg_database, supabase_loop, statements_cache=None) -> list:
    """`twin?id=eq.N` read from shape_a and shape_b in turn (Accept-Profile) through one gateway."""
    from dualsync.fakes.supabase import GatewayConfig
    from dualsync.fakes.supabase.gateway import Gateway
    from dualsync.fakes.supabase.serving import InProcessTransport
    with psycopg.connect(pg_database.admin.dsn(), autocommit=True) as conn:
        conn.execute(TWINS)
    gateway = Gateway(GatewayConfig(rest_dsn=pg_database.authenticator.dsn(), admin_dsn=pg_database.admin.dsn(),
                                    schemas=("public", "shape_a", "shape_b")))
    if statements_cache is not None:
        gateway.statements = statements_cache
    try:
        with httpx.Client(transport=InProcessTransport(gateway.app, supabase_loop), base_url="http://gateway.local",
                          headers={"apikey": gateway.config.anon_key}) as c:
            out = []
            for n in (1, 2):
                for schema in ("shape_a", "shape_b"):
                    r = c.get(f"/rest/v1/twin?id=eq.{n}", headers={"Accept-Profile": schema})
                    out.append(r.json() if r.status_code == 200 else r.status_code)
            return out
    finally:
        gateway.close()
        with psycopg.connect(pg_database.admin.dsn(), autocommit=True) as conn:
            conn.execute("drop schema shape_a, shape_b cascade")


EXPECTED_TWINS = [[{"id": 1, "name": "a-one"}], [{"id": 1, "name": "b-one", "extra": "b only"}],
                  [{"id": 2, "name": "a-two"}], [{"id": 2, "name": "b-two", "extra": "b only"}]]


def test_a_table_of_one_name_in_two_schemas_gets_its_own_sql(pg_database, supabase_loop):
    assert twin_reads(pg_database, supabase_loop) == EXPECTED_TWINS


def test_the_two_schemas_check_fails_on_a_cache_keyed_by_table_name(pg_database, supabase_loop):
    assert twin_reads(pg_database, supabase_loop, NameKeyed()) != EXPECTED_TWINS
