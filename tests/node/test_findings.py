"""The case study's findings on the Node client: `legacy` (as shipped, on supabase-js and
CloudKit JS) loses the writes each finding describes, `fixed` keeps them. Driven through the
device protocol; the interleaving is set at the adapter's declared fault points."""

from __future__ import annotations

import asyncio

import pytest

from tests.node.conftest import Backends
from tests.node.support import hold_path_until_other_persists, reads, rid, seeded, user_id

pytestmark = pytest.mark.node

EVERYTHING = {"profiles": {"display_name": "Ana"}, "photos": {"caption": "day one"}, "daily_logs": {"steps": 9000}}


# -- DEEP-SYNC-001: both services pull on login, each into its own copy; last persist wins ----

def login_on_new_device(backends: Backends, variant: str, slow: str) -> dict:
    async def scenario():
        _, ids = await seeded(backends)
        b = await backends.node(variant, "B")
        await b.command("sign_in", **backends.auth("B"))
        hold_path_until_other_persists(b, slow, sequenced=variant == "fixed")
        await b.command("login_sync")
        b.gate = lambda event: None
        await b.command("sync", path="supabase")
        await b.command("sync", path="cloudkit")     # later syncs do not repair it: the cursors moved
        await b.relaunch()
        return await reads(b, ids)

    return backends.run(scenario)


def test_001_legacy_loses_the_cloudkit_pull_when_cloudkit_persists_first(backends):
    seen = login_on_new_device(backends, "legacy", slow="supabase")
    assert seen["photos"] is None, "the CloudKit copy was overwritten and its sync token kept"
    assert seen["profiles"] == {"display_name": "Ana"}


def test_001_legacy_loses_the_supabase_pull_when_supabase_persists_first(backends):
    seen = login_on_new_device(backends, "legacy", slow="cloudkit")
    assert seen["profiles"] is None, "the Supabase copy was overwritten and last_pull kept"
    assert seen["photos"] == {"caption": "day one"}


@pytest.mark.parametrize("slow", ["supabase", "cloudkit"])
def test_001_fixed_keeps_both_pulls_whichever_path_is_slow(backends, slow):
    assert login_on_new_device(backends, "fixed", slow) == EVERYTHING


def edit_during_login(backends: Backends, variant: str):
    async def scenario():
        await seeded(backends)
        b = await backends.node(variant, "B")
        await b.command("sign_in", **backends.auth("B"))
        go = asyncio.Event()
        b.gate = lambda event: go.wait() if event["path"] in ("supabase", "cloudkit") else None
        sync = b.start("login_sync")
        while not any(e["event"] == "fault_point" for e in b.events):   # the sync has begun
            await asyncio.sleep(0.01)
        mine = rid()
        await b.command("write", type="cardio_sessions", id=mine, fields={"minutes": 45})  # logged mid-sync
        go.set()
        await sync
        await b.relaunch()
        return (await b.command("read", type="cardio_sessions", id=mine))["fields"]

    return backends.run(scenario)


def test_001_legacy_erases_an_edit_made_during_the_login_sync(backends):
    assert edit_during_login(backends, "legacy") is None


def test_001_fixed_keeps_an_edit_made_during_the_login_sync(backends):
    assert edit_during_login(backends, "fixed") == {"minutes": 45}


# -- DEEP-SYNC-002: the Supabase cursor moves past rows that do not decrypt -------------------

def pull_with_a_missing_key(backends: Backends, variant: str):
    """A writes one log under key 1, rotates to key 2 and writes two more; B's keychain has
    not synced key 2 yet when it pulls; then it has, and B pulls again."""
    async def scenario():
        a = await backends.node("fixed", "A")
        await a.command("sign_up", **backends.auth("A"))
        user = user_id(backends)
        b = await backends.node(variant, "B")
        await b.command("sign_in", **backends.auth("B"))
        ids = [rid() for _ in range(3)]
        await a.command("write", type="daily_logs", id=ids[0], fields={"steps": 1})
        await a.command("sync", path="supabase")
        a.notice({"keys": {"user_id": user, "current": 2, "known": None}})
        b.notice({"keys": {"user_id": user, "current": 2, "known": 1}})
        for n, record in enumerate(ids[1:]):
            await a.command("write", type="daily_logs", id=record, fields={"steps": 10 + n})
        await a.command("sync", path="supabase")
        await b.command("sync", path="supabase")
        first = [(await b.command("read", type="daily_logs", id=r))["fields"] for r in ids]
        b.notice({"keys": {"user_id": user, "current": 2, "known": 2}})
        await b.command("sync", path="supabase")
        return first, [(await b.command("read", type="daily_logs", id=r))["fields"] for r in ids]

    return backends.run(scenario)


def test_002_legacy_never_fetches_rows_it_could_not_decrypt(backends):
    first, after = pull_with_a_missing_key(backends, "legacy")
    assert first == [{"steps": 1}, None, None]
    assert after[1:] == [None, None], "last_pull moved past them: never fetched again"


def test_002_fixed_fetches_them_once_the_key_arrives(backends):
    first, after = pull_with_a_missing_key(backends, "fixed")
    assert first == [{"steps": 1}, None, None]
    assert after == [{"steps": 1}, {"steps": 10}, {"steps": 11}]


# -- DEEP-SYNC-003: the CloudKit daily-log merge ignores needs_sync ----------------------------

def pending_edit_meets_remote(backends: Backends, variant: str):
    """B holds A's daily log and weekly snapshot; A edits both on CloudKit; B edits both later,
    offline; B's app relaunches and its login sync pulls A's versions before uploading B's."""
    async def scenario():
        a = await backends.node(variant, "A")
        await a.command("sign_up", **backends.auth("A"))
        log, week = rid(), rid()
        await a.command("write", type="daily_logs", id=log, fields={"steps": 100})
        await a.command("write", type="weekly_snapshots", id=week, fields={"workouts": 1})
        await a.command("sync", path="cloudkit")
        b = await backends.node(variant, "B")
        await b.command("sign_in", **backends.auth("B"))
        await b.command("sync", path="cloudkit")
        await a.command("write", type="daily_logs", id=log, fields={"steps": 200})
        await a.command("write", type="weekly_snapshots", id=week, fields={"workouts": 2})
        await a.command("sync", path="cloudkit")
        await b.command("write", type="daily_logs", id=log, fields={"steps": 300})      # B's later edits
        await b.command("write", type="weekly_snapshots", id=week, fields={"workouts": 3})
        await b.relaunch()
        hold_path_until_other_persists(b, "cloudkit", sequenced=variant == "fixed")  # CloudKit's copy lands last
        await b.command("login_sync")
        await b.relaunch()
        return ((await b.command("read", type="daily_logs", id=log))["fields"],
                (await b.command("read", type="weekly_snapshots", id=week))["fields"])

    return backends.run(scenario)


def test_003_legacy_daily_log_merge_overwrites_the_unsynced_edit_but_weekly_snapshot_keeps_it(backends):
    log, week = pending_edit_meets_remote(backends, "legacy")
    assert log == {"steps": 200}, "remote won over B's pending daily-log edit"
    assert week == {"workouts": 3}


def test_003_fixed_keeps_both_unsynced_edits(backends):
    assert pending_edit_meets_remote(backends, "fixed") == ({"steps": 300}, {"workouts": 3})
