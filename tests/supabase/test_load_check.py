"""The load benchmark's correctness check (bench/load.py) finds what it is meant to: a lost
acknowledged write, a stale payload, a row nobody acknowledged, a row another user can read."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import psycopg

from dualsync.bench import load


def run(coro):
    return asyncio.run(coro)


async def accounts(url, anon, n):
    async with httpx.AsyncClient(base_url=url) as client:
        return [await load.sign_up(client, anon) for _ in range(n)]


async def short_load(url, anon, users, ledger):
    out = load.Phase()
    await load.phase(url, anon, users, 4, 0.5, ledger, out, lambda: (0.0, 0.0))
    return out


def test_a_clean_run_checks_out_and_every_fault_is_named(supabase_server, supabase_gateway, pg):
    url, anon, service = supabase_server.url, supabase_gateway.config.anon_key, supabase_gateway.config.service_key

    async def scenario():
        users = await accounts(url, anon, 2)
        ledger = load.Ledger()
        measured = await short_load(url, anon, users, ledger)
        assert measured.latencies and ledger.acked and not ledger.errors
        assert await load.verify(url, anon, users, ledger, service) == [] and ledger.crossed == []

        lost, stale = list(ledger.acked)[:2]
        with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
            admin.execute("delete from public.daily_logs where id = %s", (lost,))
            admin.execute("update public.daily_logs set payload = 'changed behind the ledger' where id = %s", (stale,))
            stray = str(uuid.uuid4())
            admin.execute("insert into public.daily_logs (id, user_id, payload, client_modified_at) "
                          "values (%s, %s, 'never acknowledged', now())", (stray, users[0][0]))
            # a policy that lets every signed-in user read every row: rows cross users
            admin.execute("create policy leak on public.daily_logs for select to authenticated using (true)")
        try:
            problems = await load.verify(url, anon, users, ledger, service)
        finally:
            with psycopg.connect(pg.admin.dsn(), autocommit=True) as admin:
                admin.execute("drop policy leak on public.daily_logs")
        text = "\n".join(problems)
        assert f"acknowledged row {lost} of user" in text and "is missing" in text
        assert f"acknowledged row {stale}: expected" in text and "changed behind the ledger" in text
        assert f"row {stray} of user {users[0][0]} was never acknowledged" in text
        assert ledger.crossed and "read by user" in ledger.crossed[0]
    run(scenario())
