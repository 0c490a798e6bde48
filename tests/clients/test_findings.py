"""The case study's three findings, shown directly on `legacy` and shown fixed on `coordinated`
(and on nothing else: each finding alone is also a mutant, tested in test_mutants.py)."""

import asyncio

import pytest

from tests.clients.support import hold_until_persist, record_id, release, run, signed_in, signed_up


async def seeded_account(rig, variant="coordinated"):
    """Device A puts a profile on Supabase, a photo on CloudKit, a daily log on both."""
    a = await signed_up(rig.device(variant, "A"))
    ids = {"profiles": record_id(), "photos": record_id(), "daily_logs": record_id()}
    a.write("profiles", ids["profiles"], {"display_name": "Ana"})
    a.write("photos", ids["photos"], {"caption": "day one"})
    a.write("daily_logs", ids["daily_logs"], {"steps": 9000})
    await a.sync("supabase")
    await a.sync("cloudkit")
    return ids


# -- DEEP-SYNC-001: both services pull on login and each persists its own copy ---------------

def login_on_new_device(rig, variant, slow_backend):
    async def scenario():
        ids = await seeded_account(rig)
        b = await signed_in(rig.device(variant, "B"))
        hold_until_persist(rig, slow_backend, b)  # this service finishes last
        await b.login_sync()
        release(rig, slow_backend)
        await b.sync("supabase")
        await b.sync("cloudkit")  # later syncs do not repair it: the cursors already moved
        await b.restart()
        return {t: b.read(t, i) for t, i in ids.items()}

    return run(scenario())


def test_001_legacy_login_race_loses_the_cloudkit_pull_when_supabase_persists_last(rig):
    seen = login_on_new_device(rig, "legacy", "sb_transport")
    assert seen["profiles"] == {"display_name": "Ana"}
    assert seen["photos"] is None, "the CloudKit copy was overwritten and its sync token kept"


def test_001_legacy_login_race_loses_the_supabase_pull_when_cloudkit_persists_last(rig):
    seen = login_on_new_device(rig, "legacy", "ck_transport")
    assert seen["photos"] == {"caption": "day one"}
    assert seen["profiles"] is None, "the Supabase copy was overwritten and last_pull kept"


@pytest.mark.parametrize("slow", ["sb_transport", "ck_transport"])
def test_001_coordinated_keeps_both_pulls_whichever_backend_is_slow(rig, slow):
    seen = login_on_new_device(rig, "coordinated", slow)
    assert seen == {"profiles": {"display_name": "Ana"}, "photos": {"caption": "day one"},
                        "daily_logs": {"steps": 9000}}


def edit_during_login(rig, variant):
    async def scenario():
        await seeded_account(rig)
        b = await signed_in(rig.device(variant, "B"))
        hold_until_persist(rig, "sb_transport", b)
        sync = asyncio.ensure_future(b.login_sync())
        for _ in range(5):  # both services have started and copied the store
            await asyncio.sleep(0)
        mine = record_id()
        b.write("cardio_sessions", mine, {"minutes": 45})  # the user logs a run while the sync runs
        await sync
        await b.restart()
        return b.read("cardio_sessions", mine)

    return run(scenario())


def test_001_legacy_login_race_erases_an_edit_made_during_the_sync_window(rig):
    assert edit_during_login(rig, "legacy") is None


def test_001_coordinated_keeps_an_edit_made_during_the_sync_window(rig):
    assert edit_during_login(rig, "coordinated") == {"minutes": 45}


# -- DEEP-SYNC-002: last_pull advances past rows that failed to decrypt ------------------------

def pull_with_a_missing_key(rig, variant):
    """A writes three logs with a rotated key B's keychain has not synced yet; B pulls, then its
    keychain catches up and B pulls again."""
    async def scenario():
        from dualsync.clients.crypto import Keychain
        a = await signed_up(rig.device("coordinated", "A"))
        lagging = Keychain(rig.vault, lagging=True)
        b = await signed_in(rig.device(variant, "B", keychain=lagging))
        lagging.known_version(a.auth.user_id)
        old = record_id()
        a.write("daily_logs", old, {"steps": 1})
        await a.sync("supabase")
        rig.vault.rotate(a.auth.user_id)
        rig.clock.advance(1)
        new = [record_id() for _ in range(2)]
        for n, rid in enumerate(new):
            a.write("daily_logs", rid, {"steps": 10 + n})
        await a.sync("supabase")
        await b.sync("supabase")
        first = [b.read("daily_logs", r) for r in [old] + new]
        lagging.sync(a.auth.user_id)
        await b.sync("supabase")
        return first, [b.read("daily_logs", r) for r in [old] + new]

    return run(scenario())


def test_002_legacy_skips_undecryptable_rows_forever(rig):
    first, after_key_sync = pull_with_a_missing_key(rig, "legacy")
    assert first[0] == {"steps": 1} and first[1:] == [None, None]
    assert after_key_sync[1:] == [None, None], "last_pull moved past them: never fetched again"


def test_002_coordinated_fetches_them_once_the_key_arrives(rig):
    first, after_key_sync = pull_with_a_missing_key(rig, "coordinated")
    assert first[1:] == [None, None]
    assert after_key_sync == [{"steps": 1}, {"steps": 10}, {"steps": 11}]


def test_002_legacy_loses_newer_rows_of_the_batch_behind_one_corrupt_row(rig):
    async def scenario(variant):
        a = await signed_up(rig.device("coordinated", f"A-{variant}"), email=f"{variant}@example.com")
        ids = [record_id() for _ in range(3)]
        for n, rid in enumerate(ids):
            a.write("daily_logs", rid, {"steps": n})
            await a.sync("supabase")
            rig.clock.advance(1)
        rig.sb.corrupt("daily_logs", ids[0])
        b = await signed_in(rig.device(variant, f"B-{variant}"), email=f"{variant}@example.com")
        await b.sync("supabase")
        await b.sync("supabase")
        return [b.read("daily_logs", r) for r in ids]

    assert run(scenario("legacy")) == [None, None, None]
    assert run(scenario("coordinated")) == [None, {"steps": 1}, {"steps": 2}]


# -- DEEP-SYNC-003: the CloudKit daily-log merge ignores needs_sync -----------------------------

def pending_edit_meets_remote(rig, variant):
    """B holds A's daily log and weekly snapshot; A edits both on CloudKit; B edits both offline,
    later; B's app relaunches and its login sync pulls A's versions before uploading B's edits."""
    async def scenario():
        a = await signed_up(rig.device(variant, "A"))
        log, week = record_id(), record_id()
        a.write("daily_logs", log, {"steps": 100})
        a.write("weekly_snapshots", week, {"workouts": 1})
        await a.sync("cloudkit")
        b = await signed_in(rig.device(variant, "B"))
        await b.sync("cloudkit")
        a.write("daily_logs", log, {"steps": 200})
        a.write("weekly_snapshots", week, {"workouts": 2})
        await a.sync("cloudkit")
        rig.clock.advance(30)
        b.write("daily_logs", log, {"steps": 300})        # B's later, unsynced edits
        b.write("weekly_snapshots", week, {"workouts": 3})
        hold_until_persist(rig, "ck_transport", b)       # CloudKit's copy lands last (see 001)
        await b.login_sync()
        release(rig, "ck_transport")
        await b.restart()
        return b.read("daily_logs", log), b.read("weekly_snapshots", week)

    return run(scenario())


def test_003_legacy_daily_log_merge_overwrites_the_unsynced_edit_but_weekly_snapshot_keeps_it(rig):
    log, week = pending_edit_meets_remote(rig, "legacy")
    assert log == {"steps": 200}, "remote won over B's pending daily-log edit"
    assert week == {"workouts": 3}


def test_003_coordinated_keeps_both_unsynced_edits(rig):
    assert pending_edit_meets_remote(rig, "coordinated") == ({"steps": 300}, {"workouts": 3})
