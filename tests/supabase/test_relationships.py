"""Relationship detection below the HTTP surface: the view parse-tree reader and the catalog rules
(a junction needs its FK columns in its primary key; a view column that is an expression carries
no relationship; odd column names survive the node format's escapes)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from dualsync.fakes.supabase import relationships, schema, viewdeps

DDL = """
drop schema if exists rel_t cascade;
create schema rel_t;
create table rel_t.a (id int primary key, label text);
create table rel_t.b (id int primary key, a_id int references rel_t.a);
create table rel_t.c (id int primary key);
create table rel_t.ac (a_id int references rel_t.a, c_id int references rel_t.c, note text, primary key (a_id, c_id));
create table rel_t.loose (id int primary key, a_id int references rel_t.a, c_id int references rel_t.c);
create view rel_t."odd view" as select b.id as "we(ird) \\ name", b.a_id as "a ref", b.a_id + 0 as computed from rel_t.b;
create view rel_t.sub as select s.x as a_key from (select a_id as x from rel_t.b) s;
create view rel_t.cte as with w as (select a_id from rel_t.b) select a_id as k from w;
"""


def test_the_node_reader_unescapes_names_and_skips_junk_entries():
    text = ("({QUERY :commandType 1 :targetList ({TARGETENTRY :expr {VAR :varno 1} :resno 1 :resname a\\ b\\)c "
            ":resorigtbl 16384 :resorigcol 2 :resjunk false} {TARGETENTRY :resno 2 :resname junk :resorigtbl 9 "
            ":resorigcol 1 :resjunk true} {TARGETENTRY :resno 3 :resname expr :resorigtbl 0 :resorigcol 0 "
            ":resjunk false}) :override 0})")
    assert viewdeps.targets(text) == [("a b)c", 16384, 2), ("expr", 0, 0)]
    assert viewdeps.targets("") == []


def test_no_relationship_hints_follow_postgrest():
    """The doctests of PostgREST's `noRelBetweenHint`: a close parent when the parent has no
    relationships, a close child when it has, nothing when the child is there (the hint failed)."""
    rels = {"films": [relationships.Relationship(("api", "films"), ("api", t), "o2m", f"{t}_fk")
                      for t in ("directors", "roles", "actors")]}
    hint = relationships._no_rel_hint
    assert hint(rels, "film", "directors") == "Perhaps you meant 'films' instead of 'film'."
    assert hint(rels, "films", "role") == "Perhaps you meant 'roles' instead of 'role'."
    assert hint(rels, "films", "actors") is None
    assert hint(rels, "noclosealternative", "roles") is None
    assert hint(rels, "films", "noclosealternative") is None


@pytest.fixture
def loaded(pg):
    with psycopg.connect(pg.admin.dsn(), autocommit=True) as conn:
        conn.execute(DDL)

    async def load():
        async with await psycopg.AsyncConnection.connect(pg.admin.dsn(), autocommit=True) as conn:
            cache = await schema.load(conn, "rel_t")
            return cache, await viewdeps.column_origins(conn, "rel_t")
    try:
        yield asyncio.run(load())
    finally:
        with psycopg.connect(pg.admin.dsn(), autocommit=True) as conn:
            conn.execute("drop schema rel_t cascade")


def test_view_columns_trace_back_through_subqueries_and_ctes(loaded):
    _, origins = loaded
    assert origins[("rel_t", "odd view")] == {"we(ird) \\ name": ("rel_t", "b", "id"), "a ref": ("rel_t", "b", "a_id")}
    assert origins[("rel_t", "sub")] == {"a_key": ("rel_t", "b", "a_id")}
    assert origins[("rel_t", "cte")] == {"k": ("rel_t", "b", "a_id")}


def test_junctions_need_their_fk_columns_in_the_primary_key(loaded):
    cache, _ = loaded
    m2m = [(r.foreign[1], r.junction[1]) for r in cache.relationships["a"] if r.kind == "m2m"]
    assert m2m == [("c", "ac")]            # rel_t.loose has both FKs but they are not its key
    assert relationships.find(cache.relationships, "rel_t", "a", "c", None).junction == ("rel_t", "ac")


def test_a_view_carries_the_relationship_of_the_columns_it_shows(loaded):
    cache, _ = loaded
    odd = cache.relationships["odd view"]
    assert [(r.foreign[1], r.kind, r.columns) for r in odd] == [("a", "m2o", (("a ref", "id"),))]
    assert {r.foreign[1] for r in cache.relationships["a"] if r.kind == "o2m"} >= {"b", "odd view", "sub", "cte"}
    # the views share b's constraint name, but a constraint name never leads to a view
    assert relationships.find(cache.relationships, "rel_t", "a", "b_a_id_fkey", None).foreign == ("rel_t", "b")
    with pytest.raises(relationships.ApiError) as refused:
        relationships.find(cache.relationships, "rel_t", "a", "nothing", "x")
    assert refused.value.code == "PGRST200" and "using the hint 'x'" in refused.value.details


AGGREGATES = {   # with the emb_* rows of contract_schema.sql
    "emb_children?select=count()": [{"count": 4}],
    "emb_children?select=parent_id,n:count()&parent_id=not.is.null&order=parent_id": [
        {"parent_id": 1, "n": 2}, {"parent_id": 2, "n": 1}],
    "emb_children?select=rank.sum(),rank.max(),rank.avg()::int,rank::text.min()": [
        {"sum": 7, "max": 3, "avg": 2, "min": "1"}],
    "emb_parents?select=name,emb_children(total:id.count())&order=id": [
        {"name": "Ada", "emb_children": [{"total": 2}]}, {"name": "Bo", "emb_children": [{"total": 1}]},
        {"name": "Cy", "emb_children": [{"total": 0}]}],
    "rpc/emb_parents_named?prefix=&select=count()": [{"count": 3}],
    # a to-one spread's aggregates are hoisted to the embed above it (v14's hoistSpreadAggFunctions),
    # which groups by the rest of its select; unaliased, the column is named by the function
    "emb_parents?select=id,emb_children(...emb_parents(total:id.sum(),id.max()))&order=id": [
        {"id": 1, "emb_children": [{"total": 2, "max": 1}]}, {"id": 2, "emb_children": [{"total": 2, "max": 2}]},
        {"id": 3, "emb_children": [{"total": None, "max": None}]}],
    "emb_children?select=...emb_parents(name,n:id.count())&order=emb_parents(name).desc": [
        {"name": None, "n": 0}, {"name": "Bo", "n": 1}, {"name": "Ada", "n": 2}],
}


def test_aggregates_are_pgrst123_until_the_database_turns_them_on(supabase_client, supabase_gateway, pg):
    from dualsync.contracts.supabase.targets import SCHEMA_SQL
    headers = {"apikey": supabase_gateway.config.anon_key}
    with psycopg.connect(pg.admin.dsn(), autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text())
        conn.execute("select public.emb_seed()")
        assert {supabase_client.get(f"/rest/v1/{q}", headers=headers).json()["code"] for q in AGGREGATES} == {"PGRST123"}
        database = conn.execute("select current_database()").fetchone()[0]
        conn.execute(f"alter role authenticator in database {database} set pgrst.db_aggregates_enabled = 'true'")
        try:
            conn.execute("notify pgrst, 'reload config'")
            supabase_gateway.cache = None       # the NOTIFY reaches it on the next statement; do not race it
            for query, expected in AGGREGATES.items():
                response = supabase_client.get(f"/rest/v1/{query}", headers=headers)
                assert (response.status_code, response.json()) == (200, expected), query
            spread = supabase_client.get("/rest/v1/emb_parents?select=id,...emb_children(id.count())", headers=headers)
            assert spread.status_code == 501 and "spread" in spread.json()["message"]
        finally:
            conn.execute(f"alter role authenticator in database {database} reset pgrst.db_aggregates_enabled")
            supabase_gateway.cache = None
    assert supabase_client.get("/rest/v1/emb_children?select=count()", headers=headers).json()["code"] == "PGRST123"
