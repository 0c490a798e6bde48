"""Client-level scenarios of the catalogue's later mutants (before issue 15's), continued from
mutant_scenarios.py: each returns what a user would see, `coordinated` the right answer."""

import asyncio

import httpx
import pytest

from dualsync.clients.errors import ClientError
from tests.clients.mutant_registry import PerRecordError, both, pair, scenario
from tests.clients.support import record_id, signed_in, signed_up


@scenario("blind-upsert", correct={"steps": 300})
async def _(rig, variant, tag):
    """B's older edit reached CloudKit only; A's newer edit reached both; then B syncs Supabase."""
    a, b = await pair(rig, variant, tag)
    rid = record_id()
    a.write("daily_logs", rid, {"steps": 100})
    await both(a)
    await b.sync("cloudkit")
    rig.clock.advance(60)
    b.write("daily_logs", rid, {"steps": 200})
    await b.sync("cloudkit")
    rig.clock.advance(60)
    a.write("daily_logs", rid, {"steps": 300})
    await both(a)
    await b.sync("supabase")
    c = await signed_in(rig.device("coordinated", f"{tag}-C"), email=f"{tag}@example.com")
    await c.sync("supabase")
    return c.read("daily_logs", rid)


@scenario("refresh-failure-wipes", correct={"minutes": 30})
async def _(rig, variant, tag):
    a = await signed_up(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    rid = record_id()
    a.write("cardio_sessions", rid, {"minutes": 30})
    a.auth.session["refresh_token"] = "revokedtoken0"   # revoked elsewhere while offline
    rig.clock.advance(2 * 3600)
    with pytest.raises(ClientError):
        await a.sync("supabase")
    await signed_in(a, email=f"{tag}@example.com")
    await a.sync("supabase")
    return a.read("cardio_sessions", rid)


@scenario("duplicate-on-retry", correct=1)
async def _(rig, variant, tag):
    a = await signed_up(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    a.write("cardio_sessions", record_id(), {"minutes": 30})
    rig.sb.lose_next_reply("/rest/v1/cardio_sessions")
    try:
        await a.sync("supabase")
    except (ClientError, httpx.TransportError):
        pass
    await a.sync("supabase")
    return len([r for r in rig.sb.rows("cardio_sessions") if r["user_id"] == a.auth.user_id])


@scenario("queue-stalls", correct=1)
async def _(rig, variant, tag):
    a = await signed_up(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    a.write("profiles", record_id(), {"display_name": "n"})
    rig.sb.fail_next(503, "/rest/v1/profiles", times=3)
    with pytest.raises(ClientError):
        await a.sync("supabase")
    await a.sync("supabase")
    return len([r for r in rig.sb.rows("profiles") if r["user_id"] == a.auth.user_id])


@scenario("recreate-syncs-delete-only", correct={"steps": 7})
async def _(rig, variant, tag):
    a, b = await pair(rig, variant, tag)
    rid = record_id()
    a.write("daily_logs", rid, {"steps": 1})
    await a.sync("supabase")
    a.delete("daily_logs", rid)
    a.write("daily_logs", rid, {"steps": 7})
    await a.sync("supabase")
    await b.sync("supabase")
    return b.read("daily_logs", rid)


@scenario("transient-error-drops-record", correct={"caption": "x"})
async def _(rig, variant, tag):
    a = await signed_up(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    rid = record_id()
    a.write("photos", rid, {"caption": "x"})
    await a.sync("cloudkit")                         # zone set up, photo saved
    a.write("photos", rid, {"caption": "x"})
    rig.ck_transport = PerRecordError(rig.ck_transport)
    await a.sync("cloudkit")
    rig.ck_transport = rig.ck_transport.inner
    c = await signed_in(rig.device("coordinated", f"{tag}-C"), email=f"{tag}@example.com")
    await c.sync("cloudkit")
    return c.read("photos", rid) if c.store.get("photos", rid).write_id == a.store.get("photos", rid).write_id else "old"


@scenario("expired-token-skips", correct={"caption": "late"})
async def _(rig, variant, tag):
    a, b = await pair(rig, variant, tag)
    await b.sync("cloudkit")
    rid = record_id()
    a.write("photos", rid, {"caption": "late"})
    await a.sync("cloudkit")
    rig.ck.expire_sync_tokens(f"{tag}@example.com")
    await b.sync("cloudkit")
    return b.read("photos", rid)


@scenario("late-commit-skipped", correct={"display_name": "from A"})
async def _(rig, variant, tag):
    a, b = await pair(rig, variant, tag)
    c = await signed_in(rig.device(variant, f"{tag}-C"), email=f"{tag}@example.com")
    late = record_id()
    a.write("profiles", late, {"display_name": "from A"})
    b.write("profiles", record_id(), {"display_name": "from B"})
    rig.sb.hold_next_commit("/rest/v1/profiles")
    upload = asyncio.ensure_future(a.sync("supabase"))  # stamped now, committed later
    seq = await rig.sb.wait_held()
    rig.clock.advance(1)
    await b.sync("supabase")
    await c.sync("supabase")                             # C's cursor passes A's timestamp
    rig.sb.release(seq)
    await upload
    await c.sync("supabase")
    return c.read("profiles", late)


@scenario("device-clock-stamps", correct={"steps": 2})
async def _(rig, variant, tag):
    a = await signed_up(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    rid = record_id()
    a.write("daily_logs", rid, {"steps": 1})
    await a.sync("supabase")
    a.clock.skew = -3600.0                               # the user sets the clock back an hour
    a.write("daily_logs", rid, {"steps": 2})
    await a.sync("supabase")                             # refused upload, then the pull
    return a.read("daily_logs", rid)


@scenario("unreadable-conflict-stalls", correct=(False, {"caption": "from B"}))
async def _(rig, variant, tag):
    a = await signed_up(rig.device("coordinated", f"{tag}-A"), email=f"{tag}@example.com")
    b = await signed_in(rig.device(variant, f"{tag}-B"), email=f"{tag}@example.com")
    photo = record_id()
    a.write("photos", photo, {"caption": "from A"})
    await a.sync("cloudkit")
    zone = rig.ck.db(f"{tag}@example.com").zones["FitMeZone"]
    zone.records[photo].fields["payload"] = ("BYTES", "AAAAAAAAAAAAAAAAYml0IHJvdA==")  # bit rot
    zone.changed(zone.records[photo])
    b.write("photos", photo, {"caption": "from B"})      # B never pulled A's: its save conflicts
    await b.sync("cloudkit")
    await a.sync("cloudkit")
    return b.store.get("photos", photo).needs_sync, a.read("photos", photo)


@scenario("stale-tie-overwrite", correct={"display_name": "from B"})
async def _(rig, variant, tag):
    c = await signed_up(rig.device("coordinated", f"{tag}-C"), email=f"{tag}@example.com")
    a = await signed_in(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    b = await signed_in(rig.device("coordinated", f"{tag}-B"), email=f"{tag}@example.com")
    rid = record_id()
    c.write("profiles", rid, {"display_name": "from C"})
    await c.sync("supabase")
    rig.clock.advance(1)
    await a.sync("supabase")
    await b.sync("supabase")
    a.write("profiles", rid, {"display_name": "from A"})
    b.write("profiles", rid, {"display_name": "from B"})  # the same microsecond; B's device name ranks last
    await b.sync("supabase")
    await a.sync("supabase")                             # must not take B's row for C's
    return a.read("profiles", rid)


@scenario("unlisted-kept", correct={"caption": "from A"})
async def _(rig, variant, tag):
    a = await signed_up(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    photo = record_id()
    a.write("photos", photo, {"caption": "from A"})
    await a.sync("cloudkit")
    rig.ck.user_delete_zone(f"{tag}@example.com", "FitMeZone")   # in Settings
    c = await signed_in(rig.device("coordinated", f"{tag}-C"), email=f"{tag}@example.com")
    await c.sync("cloudkit")                             # a new device re-creates the zone
    await a.sync("cloudkit")                             # A's token expired: a fetch from nil
    await c.sync("cloudkit")
    return c.read("photos", photo)


@scenario("unreadable-row-stalls", correct=(False, {"display_name": "from B"}))
async def _(rig, variant, tag):
    b = await signed_up(rig.device("coordinated", f"{tag}-B", skew=1.0), email=f"{tag}@example.com")
    a = await signed_in(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    rid = record_id()
    b.write("profiles", rid, {"display_name": "from B"})   # B's clock runs 1 s ahead
    await b.sync("supabase")
    rig.sb.corrupt("profiles", rid)                         # bit rot: same updated_at, stamp still B's
    a.write("profiles", rid, {"display_name": "from A"})   # later in real time, stamped earlier
    await a.sync("supabase")                                # refused, pull fails on the row, ...
    await b.sync("supabase")                                # B's own ranks later: uploaded again
    await a.sync("supabase")
    return a.store.get("profiles", rid).needs_sync, a.read("profiles", rid)
