"""The issue-15 mutants' client-level scenarios, registered into mutant_registry's
table (tests/clients/test_mutants.py runs it): each differs from `coordinated` on its input."""

from dualsync.clients.crypto import Keychain
from dualsync.clients.errors import ClientError
from tests.clients.support import record_id, signed_in
from tests.clients.mutant_registry import LATER, pair, scenario
from tests.clients.mutant_scenarios import conflicting_cloudkit_saves


@scenario("ck-conflict-overwrites", correct={"workouts": 3})
async def _(rig, variant, tag):
    return await conflicting_cloudkit_saves(rig, variant, tag)


@scenario("missing-key-taken-for-rot", correct={"caption": "final"})
async def _(rig, variant, tag):
    """B's older edit meets, on save, A's newer record sealed with a key B's keychain lacks yet."""
    lagging = Keychain(rig.vault, lagging=True)
    a, b = await pair(rig, variant, tag, keychain=lagging)
    lagging.known_version(a.auth.user_id)
    rid = record_id()
    b.write("photos", rid, {"caption": "draft"})
    rig.clock.advance(10)
    rig.vault.rotate(a.auth.user_id)
    a.write("photos", rid, {"caption": "final"})
    await a.sync("cloudkit")
    try:
        await b.sync("cloudkit")
    except ClientError:
        pass
    c = await signed_in(rig.device("coordinated", f"{tag}-C"), email=f"{tag}@example.com")
    await c.sync("cloudkit")
    return c.read("photos", rid)


@scenario("keyset-by-time-only", correct=[{"steps": 1}, {"steps": 2}, {"steps": 3}])
async def _(rig, variant, tag):
    """Three rows of one upload share a timestamp; B pulls two a page."""
    a, b = await pair(rig, variant, tag, page_size=2)
    rids = [record_id() for _ in range(3)]
    for n, rid in enumerate(rids, 1):
        a.write("daily_logs", rid, {"steps": n})
    await a.sync("supabase")
    await b.sync("supabase")
    return [b.read("daily_logs", rid) for rid in rids]


@scenario("sign-out-clears-queue", correct={"display_name": "before sign-out"})
async def _(rig, variant, tag):
    a, _b = await pair(rig, variant, tag)
    rid = record_id()
    a.write("profiles", rid, {"display_name": "before sign-out"})
    await a.sign_out()
    await signed_in(a, email=f"{tag}@example.com")
    await a.sync("supabase")
    c = await signed_in(rig.device("coordinated", f"{tag}-C"), email=f"{tag}@example.com")
    await c.sync("supabase")
    return c.read("profiles", rid)


@scenario("merge-keeps-local-fields", correct={"file_name": "b.heic"})
async def _(rig, variant, tag):
    """B's app knows no captions; its later write replaces the record whole."""
    a, b = await pair(rig, variant, tag)
    rid = record_id()
    a.write("photos", rid, {"file_name": "a.heic", "caption": "first light"})
    await a.sync("cloudkit")
    await b.sync("cloudkit")
    rig.clock.advance(10)
    b.write("photos", rid, {"file_name": "b.heic"})
    await b.sync("cloudkit")
    await a.sync("cloudkit")
    return a.read("photos", rid)


@scenario("pulled-delete-forgets", correct=None)
async def _(rig, variant, tag):
    """B gets a log through Supabase only; the delete reaches it there before CloudKit's stale copy."""
    a, b = await pair(rig, variant, tag)
    rid = record_id()
    a.write("daily_logs", rid, {"steps": 10})
    await a.sync("supabase")
    await a.sync("cloudkit")
    await b.sync("supabase")
    rig.clock.advance(LATER)
    a.delete("daily_logs", rid)
    await a.sync("supabase")
    await b.sync("supabase")
    await b.sync("cloudkit")
    return b.read("daily_logs", rid)
