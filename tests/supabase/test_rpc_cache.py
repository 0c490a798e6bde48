"""Functions created, dropped or re-created while the gateway serves, without `NOTIFY pgrst`: the next
/rpc call that misses reloads the schema cache when the catalog's functions of that name changed."""

from __future__ import annotations

import psycopg


def test_function_ddl_is_picked_up_without_notify(supabase_client, supabase_gateway, pg):
    service = {"apikey": supabase_gateway.config.service_key,
               "Authorization": f"Bearer {supabase_gateway.config.service_key}"}

    def ddl(statement: str) -> None:
        with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
            admin.execute(statement)

    def call(args: dict):
        return supabase_client.post("/rest/v1/rpc/scratch_fn", json=args, headers=service)

    try:
        assert call({"a": 1}).status_code == 404
        ddl("create function public.scratch_fn(a integer) returns integer language sql as $$ select a $$")
        assert call({"a": 1}).json() == 1                       # created
        ddl("drop function public.scratch_fn(integer)")
        ddl("create function public.scratch_fn(b integer) returns integer language sql as $$ select b + 1 $$")
        assert call({"b": 1}).json() == 2                       # re-created under another argument name
        stale = call({"a": 1})
        assert stale.status_code == 404 and stale.json()["code"] == "PGRST202"   # the old name is gone
        ddl("create function public.scratch_fn(b integer, c integer) returns integer language sql as $$ select c $$")
        assert call({"b": 1, "c": 7}).json() == 7               # an overload added
    finally:
        ddl("drop function if exists public.scratch_fn(integer)")
        ddl("drop function if exists public.scratch_fn(integer, integer)")
