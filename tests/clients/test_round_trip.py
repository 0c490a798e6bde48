"""Single-device round trips: sign up, sign in, create, edit, delete, sync, restart, sync again;
all five record types through their backends, encrypted at rest."""

import pytest

from dualsync.clients.app import ROUTES, SUPABASE_TABLES
from dualsync.clients.app import ZONE
from dualsync.clients.payloads import PayloadFactory
from tests.clients.support import record_id, run, signed_in, signed_up

VARIANTS = ["legacy", "coordinated"]


async def sync_each(device):
    # One path after the other: a round trip, not the login race (test_findings covers that).
    await device.sync("supabase")
    await device.sync("cloudkit")


def write_one_of_each(device, seed=1):
    factory, ids = PayloadFactory(seed), {}
    for record_type in ROUTES:
        ids[record_type] = record_id()
        device.write(record_type, ids[record_type], factory.fields(record_type))
    return ids


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_record_type_reaches_a_second_device_through_its_backends(rig, variant):
    async def scenario():
        a = await signed_up(rig.device(variant, "A"))
        ids = write_one_of_each(a)
        await sync_each(a)
        b = await signed_in(rig.device(variant, "B"))
        await sync_each(b)
        for record_type, rid in ids.items():
            assert b.read(record_type, rid) == a.read(record_type, rid), record_type
        return ids

    ids = run(scenario())
    for record_type in ("profiles", "daily_logs", "weekly_snapshots", "cardio_sessions"):
        assert [r["id"] for r in rig.sb.rows(record_type)] == [ids[record_type]]
    assert "photos" not in SUPABASE_TABLES  # photos go through CloudKit only: no table at all
    zone_records = rig.ck.db("ana@example.com").zones[ZONE].records
    assert ids["photos"] in zone_records and ids["profiles"] not in zone_records


@pytest.mark.parametrize("variant", VARIANTS)
def test_payloads_are_ciphertext_on_both_backends(rig, variant):
    async def scenario():
        a = await signed_up(rig.device(variant, "A"))
        a.write("daily_logs", record_id(), {"note": "secret-marker-123", "steps": 4242})
        await sync_each(a)

    run(scenario())
    row = rig.sb.rows("daily_logs")[0]
    assert "secret-marker" not in row["payload"] and "4242" not in row["payload"]
    assert row["key_version"] == 1
    ck_record = next(iter(rig.ck.db("ana@example.com").zones[ZONE].records.values()))
    assert "secret-marker" not in repr(ck_record.fields)


@pytest.mark.parametrize("variant", VARIANTS)
def test_edit_and_delete_travel_and_survive_restarts(rig, variant):
    async def scenario():
        a = await signed_up(rig.device(variant, "A"))
        log, photo = record_id(), record_id()
        a.write("daily_logs", log, {"steps": 1})
        a.write("photos", photo, {"caption": "before"})
        await sync_each(a)
        b = await signed_in(rig.device(variant, "B"))
        await sync_each(b)
        rig.clock.advance(60)
        b.write("daily_logs", log, {"steps": 2})
        b.delete("photos", photo)
        await sync_each(b)
        await b.restart()
        assert b.read("daily_logs", log) == {"steps": 2} and b.read("photos", photo) is None
        await a.restart()
        await sync_each(a)
        await a.restart()
        return a, log, photo

    a, log, photo = run(scenario())
    assert a.read("daily_logs", log) == {"steps": 2}
    assert a.read("photos", photo) is None
    snapshot = a.store_snapshot()
    assert snapshot["photos"][photo]["deleted"] and not snapshot["daily_logs"][log]["needs_sync"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_device_stays_signed_in_across_a_restart(rig, variant):
    async def scenario():
        a = await signed_up(rig.device(variant, "A"))
        rid = record_id()
        a.write("cardio_sessions", rid, {"minutes": 30})
        await a.restart()
        await sync_each(a)
        return rid

    rid = run(scenario())
    assert [r["id"] for r in rig.sb.rows("cardio_sessions")] == [rid]


def test_an_expired_access_token_is_refreshed_before_the_sync(rig):
    async def scenario():
        a = await signed_up(rig.device("coordinated", "A"))
        first = a.auth.session["access_token"]
        rig.clock.advance(2 * 3600)
        a.write("profiles", record_id(), {"display_name": "Ana"})
        await a.sync("supabase")
        return first, a.auth.session["access_token"]

    first, now = run(scenario())
    assert first != now and len(rig.sb.rows("profiles")) == 1


def test_another_user_signing_in_on_the_device_never_gets_the_first_users_records(rig):
    async def scenario():
        a = await signed_up(rig.device("coordinated", "A"))
        mine = record_id()
        a.write("daily_logs", mine, {"steps": 1})
        await a.sign_out()
        await a.sign_up("bo@example.com", "other-pass-1")
        await a.sync("supabase")
        await a.sync("cloudkit")
        return a.read("daily_logs", mine), a.auth.user_id

    seen, bo = run(scenario())
    assert seen is None and [r for r in rig.sb.rows("daily_logs") if r["user_id"] == bo] == []


def test_fields_must_be_json_values(rig):
    async def scenario():
        a = await signed_up(rig.device("coordinated", "A"))
        with pytest.raises(TypeError, match="must be JSON values"):
            a.write("daily_logs", record_id(), {"when": object()})
        return a.store.records["daily_logs"]

    assert run(scenario()) == {}


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_zone_deleted_in_settings_is_recreated_and_refilled(rig, variant):
    async def scenario():
        a = await signed_up(rig.device(variant, "A"))
        photo = record_id()
        a.write("photos", photo, {"caption": "kept"})
        await a.sync("cloudkit")
        rig.ck.user_delete_zone("ana@example.com", ZONE)
        await a.sync("cloudkit")
        b = await signed_in(rig.device(variant, "B"))
        await b.sync("cloudkit")
        return b.read("photos", photo)

    assert run(scenario()) == {"caption": "kept"}


def test_bad_local_calls_name_the_problem(rig):
    async def scenario():
        a = await signed_up(rig.device("coordinated", "A"))
        with pytest.raises(ValueError, match="unknown record type 'workouts'"):
            a.write("workouts", record_id(), {})
        with pytest.raises(ValueError, match="record id must be a non-empty string"):
            a.read("daily_logs", "")
        with pytest.raises(KeyError, match="no live daily_logs/"):
            a.delete("daily_logs", record_id())
        with pytest.raises(ValueError, match="unknown sync path 'icloud'"):
            await a.sync("icloud")

    run(scenario())
