"""Every mutant differs from `coordinated` on some input: each scenario below runs once with
`coordinated` and once with the mutant (as two users of the same backends) and the observable
outcome must differ, with `coordinated` giving the right answer. No mutant is equivalent."""

import asyncio

import httpx
import pytest

from dualsync.clients import catalogue
from dualsync.clients.api import ClientCrashed, Hooks
from dualsync.clients.errors import ClientError, StoreError
from tests.clients.support import (CrashAt, hold_until_persist, record_id, release, run, signed_in, signed_up)

SCENARIOS = {}
LATER = 60.0  # virtual seconds: more than the remediated pull's look-back (behaviour.cursor_lookback)


def scenario(name, correct):
    def register(fn):
        SCENARIOS[name] = (fn, correct)
        return fn
    return register


async def pair(rig, variant, tag, **b_options):
    a = await signed_up(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    b = await signed_in(rig.device(variant, f"{tag}-B", **b_options), email=f"{tag}@example.com")
    return a, b


async def both(device):
    await device.sync("supabase")
    await device.sync("cloudkit")


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


class PerRecordError(httpx.AsyncBaseTransport):
    """Answers the first records/modify itself with a per-record error for every operation, inside
    a 200 (the documented shape of a per-item error); then steps aside."""

    def __init__(self, inner, code="THROTTLED"):
        self.inner, self.code, self.used = inner, code, False

    async def handle_async_request(self, request):
        if self.used or not request.url.path.endswith("/records/modify"):
            return await self.inner.handle_async_request(request)
        self.used = True
        import json
        ops = json.loads(request.content)["operations"]
        items = [{"recordName": op["record"]["recordName"], "serverErrorCode": self.code,
                  "reason": "injected per-record error", "retryAfter": 2} for op in ops]
        return httpx.Response(200, json={"records": items})


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


from tests.clients import mutant_scenarios_15  # noqa: E402,F401  (registers issue 15's scenarios)

MUTANTS = [name.removeprefix("mutant:") for name, _, _ in catalogue() if name.startswith("mutant:")]


def test_every_mutant_has_a_scenario_and_there_are_at_least_twelve():
    assert len(MUTANTS) >= 12
    assert sorted(MUTANTS) == sorted(SCENARIOS)


@pytest.mark.parametrize("mutant", MUTANTS)
def test_mutant_differs_from_coordinated(rig, mutant):
    fn, correct = SCENARIOS[mutant]
    assert run(fn(rig, "coordinated", "c")) == correct
    assert run(fn(rig, f"mutant:{mutant}", "m")) != correct
