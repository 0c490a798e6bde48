"""The gateway's connection pool: first come first served, never over its size, nothing leaked on cancel."""

from __future__ import annotations

import asyncio

import pytest

from dualsync.fakes.supabase.db import Pool


def run(coro):
    return asyncio.run(coro)


def test_a_released_connection_goes_to_the_longest_waiter_not_to_a_newcomer(pg):
    """The old Condition-based pool let a request arriving at release time take the connection, and
    the woken waiter went to the back of the queue (the p99 under load)."""
    async def scenario():
        pool = Pool(pg.authenticator.dsn(), 1)
        held = await pool.acquire()
        order = []

        async def want(name):
            conn = await pool.acquire()
            order.append(name)
            await asyncio.sleep(0)
            await pool.release(conn)

        first = asyncio.create_task(want("waited"))
        await asyncio.sleep(0.01)                 # `first` is queued
        newcomer = asyncio.create_task(want("newcomer"))   # ready to run before `first` is woken
        await pool.release(held)
        await asyncio.gather(first, newcomer)
        assert order == ["waited", "newcomer"]
        assert pool.count == 1 and len(pool.idle) == 1
        await pool.close()
    run(scenario())


def test_never_more_connections_than_its_size_and_all_come_back(pg):
    async def scenario():
        pool = Pool(pg.authenticator.dsn(), 3)
        busy = peak = 0

        async def request(i):
            nonlocal busy, peak
            conn = await pool.acquire()
            busy += 1
            peak = max(peak, busy)
            await conn.execute("select pg_sleep(0.001)")
            busy -= 1
            await pool.release(conn)

        await asyncio.gather(*(request(i) for i in range(40)))
        assert peak == 3 and pool.count == 3 and len(pool.idle) == 3
        await pool.close()
    run(scenario())


def test_a_cancelled_waiter_passes_the_connection_on(pg):
    async def scenario():
        pool = Pool(pg.authenticator.dsn(), 1)
        held = await pool.acquire()
        doomed = asyncio.create_task(pool.acquire())
        patient = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.01)
        await pool.release(held)                  # handed to `doomed`'s future ...
        doomed.cancel()                           # ... which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await doomed
        conn = await asyncio.wait_for(patient, 5)
        assert conn is held and pool.count == 1
        await pool.release(conn)
        await pool.close()
    run(scenario())


def test_a_connection_closed_in_a_transaction_frees_its_slot_for_a_waiter(pg):
    async def scenario():
        pool = Pool(pg.authenticator.dsn(), 1)
        conn = await pool.acquire()
        await conn.execute("BEGIN")               # released mid-transaction: closed, not reused
        waiter = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.01)
        await pool.release(conn)
        fresh = await asyncio.wait_for(waiter, 10)
        assert fresh is not conn and conn.closed and pool.count == 1
        await pool.release(fresh)
        await pool.close()
    run(scenario())
