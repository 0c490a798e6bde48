"""Client-level scenarios of the catalogue's mutants (before issue 15's): each returns what a user
would see, and `coordinated` gives the right answer (registered into mutant_registry.SCENARIOS)."""

import pytest

from dualsync.clients.api import ClientCrashed, Hooks
from dualsync.clients.errors import ClientError, StoreError
from tests.clients.mutant_registry import LATER, PerRecordError, both, pair, scenario
from tests.clients.support import CrashAt, hold_until_persist, record_id, release, signed_in, signed_up


@scenario("login-race", correct={"caption": "p"})
async def _(rig, variant, tag):
    a = await signed_up(rig.device("coordinated", f"{tag}-A"), email=f"{tag}@example.com")
    photo = record_id()
    a.write("photos", photo, {"caption": "p"})
    a.write("profiles", record_id(), {"display_name": "n"})
    await both(a)
    b = await signed_in(rig.device(variant, f"{tag}-B"), email=f"{tag}@example.com")
    hold_until_persist(rig, "sb_transport", b)
    await b.login_sync()
    release(rig, "sb_transport")
    await both(b)
    return b.read("photos", photo)


@scenario("cursor-past-failures", correct={"steps": 2})
async def _(rig, variant, tag):
    """A row B cannot decrypt yet (a rotated key), then, a minute later, one it can."""
    from dualsync.clients.crypto import Keychain
    lagging = Keychain(rig.vault, lagging=True)
    a, b = await pair(rig, variant, tag, keychain=lagging)
    old_key = Keychain(rig.vault, lagging=True)
    d = await signed_in(rig.device(variant, f"{tag}-D", keychain=old_key), email=f"{tag}@example.com")
    lagging.known_version(a.auth.user_id), old_key.known_version(a.auth.user_id)
    rig.vault.rotate(a.auth.user_id)
    rid = record_id()
    a.write("daily_logs", rid, {"steps": 2})
    await a.sync("supabase")
    rig.clock.advance(LATER)
    d.write("daily_logs", record_id(), {"steps": 3})
    await d.sync("supabase")
    await b.sync("supabase")
    lagging.sync(a.auth.user_id)
    await b.sync("supabase")
    return b.read("daily_logs", rid)


@scenario("daily-log-ignores-needs-sync", correct=({"steps": 300}, {"workouts": 3}))
async def _(rig, variant, tag):
    a, b = await pair(rig, variant, tag)
    log, week = record_id(), record_id()
    a.write("daily_logs", log, {"steps": 100})
    a.write("weekly_snapshots", week, {"workouts": 1})
    await a.sync("cloudkit")
    await b.sync("cloudkit")
    a.write("daily_logs", log, {"steps": 200})
    a.write("weekly_snapshots", week, {"workouts": 2})
    await a.sync("cloudkit")
    rig.clock.advance(30)
    b.write("daily_logs", log, {"steps": 300})
    b.write("weekly_snapshots", week, {"workouts": 3})
    await b.login_sync()
    return b.read("daily_logs", log), b.read("weekly_snapshots", week)


@scenario("cursor-saved-before-records", correct={"steps": 5})
async def _(rig, variant, tag):
    crash = CrashAt("before_persist")
    a, b = await pair(rig, variant, tag, hooks=Hooks(fault_point=crash))
    rid = record_id()
    a.write("daily_logs", rid, {"steps": 5})
    await a.sync("supabase")
    rig.clock.advance(LATER)
    a.write("daily_logs", record_id(), {"steps": 6})
    await a.sync("supabase")
    with pytest.raises(ClientCrashed):
        await b.sync("supabase")            # crashes after pulling both, before persisting them
    crash.point = None
    await b.restart()
    await b.sync("supabase")
    return b.read("daily_logs", rid)


@scenario("non-atomic-persist", correct="readable")
async def _(rig, variant, tag):
    crash = CrashAt("mid_persist", nth=3)  # sign-up and the first write persist first
    a = await signed_up(rig.device(variant, f"{tag}-A", hooks=Hooks(fault_point=crash)), email=f"{tag}@example.com")
    a.write("daily_logs", record_id(), {"steps": 1})
    with pytest.raises(ClientCrashed):
        a.write("daily_logs", record_id(), {"steps": 2})
    try:
        await a.restart()
    except StoreError:
        return "torn"
    return "readable"


@scenario("tombstones-dropped", correct=None)
async def _(rig, variant, tag):
    a, b = await pair(rig, variant, tag)
    rid = record_id()
    a.write("cardio_sessions", rid, {"minutes": 20})
    await a.sync("supabase")
    await b.sync("supabase")
    a.delete("cardio_sessions", rid)
    await a.sync("supabase")
    await b.sync("supabase")
    return b.read("cardio_sessions", rid)


async def conflicting_cloudkit_saves(rig, variant, tag):
    """B edits first, A edits later and saves first; then B saves with its stale change tag.
    A third device reads what CloudKit holds."""
    a, b = await pair(rig, variant, tag)
    rid = record_id()
    a.write("weekly_snapshots", rid, {"workouts": 1})
    await a.sync("cloudkit")
    await b.sync("cloudkit")
    b.write("weekly_snapshots", rid, {"workouts": 2})
    rig.clock.advance(10)
    a.write("weekly_snapshots", rid, {"workouts": 3})
    await a.sync("cloudkit")
    await b.sync("cloudkit")
    c = await signed_in(rig.device("coordinated", f"{tag}-C"), email=f"{tag}@example.com")
    await c.sync("cloudkit")
    return c.read("weekly_snapshots", rid)


@scenario("force-update", correct={"workouts": 3})
async def _(rig, variant, tag):
    return await conflicting_cloudkit_saves(rig, variant, tag)


@scenario("item-errors-ignored", correct={"caption": "q"})
async def _(rig, variant, tag):
    a = await signed_up(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    # A has a sync token first: a fetch from nil lists the whole zone and would show the photo
    # missing there (coordinated re-uploads what a complete listing lacks).
    await a.sync("cloudkit")
    rid = record_id()
    a.write("photos", rid, {"caption": "q"})
    rig.ck_transport = PerRecordError(rig.ck_transport, "QUOTA_EXCEEDED")  # the user's iCloud is full
    try:
        await a.sync("cloudkit")
    except ClientError:
        pass
    rig.ck_transport = rig.ck_transport.inner
    await a.sync("cloudkit")                          # space was freed
    c = await signed_in(rig.device("coordinated", f"{tag}-C"), email=f"{tag}@example.com")
    await c.sync("cloudkit")
    return c.read("photos", rid)


@scenario("remote-wins-by-arrival", correct={"display_name": "ranked later"})
async def _(rig, variant, tag):
    """A's clock runs 100 s behind: its edit comes later in real time but earlier in device time,
    so the declared order ranks B's edit last, whichever arrives last."""
    b = await signed_up(rig.device(variant, f"{tag}-B"), email=f"{tag}@example.com")
    a = await signed_in(rig.device(variant, f"{tag}-A", skew=-100), email=f"{tag}@example.com")
    rid = record_id()
    b.write("profiles", rid, {"display_name": "ranked later"})
    await b.sync("supabase")
    rig.clock.advance(10)
    a.write("profiles", rid, {"display_name": "ranked earlier"})
    await a.sync("supabase")
    return a.read("profiles", rid)


@scenario("wall-clock-stamps", correct={"steps": 2})
async def _(rig, variant, tag):
    a = await signed_up(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    b = await signed_in(rig.device("coordinated", f"{tag}-B"), email=f"{tag}@example.com")
    rid = record_id()
    a.write("daily_logs", rid, {"steps": 1})
    await a.sync("supabase")
    rig.clock.advance(60)
    # A minute later on the World clock, B edits without having pulled A's edit: the stamps alone
    # order the two (an edit of a pulled version would rank after it whatever A stamped).
    b.write("daily_logs", rid, {"steps": 2})
    await b.sync("supabase")
    await a.sync("supabase")
    return a.read("daily_logs", rid)


@scenario("more-coming-ignored", correct=3)
async def _(rig, variant, tag):
    a = await signed_up(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    b = await signed_in(rig.device(variant, f"{tag}-B", results_limit=1), email=f"{tag}@example.com")
    photos = [record_id() for _ in range(3)]
    for rid in photos:
        a.write("photos", rid, {"caption": rid})
    await a.sync("cloudkit")
    await b.sync("cloudkit")
    return sum(b.read("photos", rid) is not None for rid in photos)


@scenario("stale-pull-resurrects", correct=None)
async def _(rig, variant, tag):
    """B's later delete has reached Supabase but not CloudKit yet; a new device C learns of the
    delete from Supabase, then meets the older live copy on CloudKit."""
    a, b = await pair(rig, variant, tag)
    rid = record_id()
    a.write("daily_logs", rid, {"steps": 1})
    await both(a)
    await both(b)
    rig.clock.advance(10)
    b.delete("daily_logs", rid)
    await b.sync("supabase")
    c = await signed_in(rig.device(variant, f"{tag}-C"), email=f"{tag}@example.com")
    await both(c)
    return c.read("daily_logs", rid)
