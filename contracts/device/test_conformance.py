"""Device-adapter conformance: every adapter of the device protocol (docs/device-protocol.md)
must pass this, whatever language its app is written in.

Each test drives the adapter through a World with real backends (the worker's Postgres behind
the Supabase fake, the CloudKit fake), as a scenario would, and looks at the protocol as well as
at what the adapter reports.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

import pytest

from dualsync.clients.adapter.protocol import CAPABILITIES
from dualsync.clients.api import FAULT_POINTS, ROUTES
from dualsync.clients.cloudkit_sync import ZONE
from dualsync.harness.backends import _ck_value
from dualsync.harness.external import describe
from dualsync.harness.external.process import argv_of
from dualsync.harness.world import World

DAILY = "daily_logs"
IDS = [f"c0000000-0000-4000-8000-00000000000{i}" for i in range(1, 6)]


def drive(pg_database, tmp_path, adapter: str, body, devices=("A",)) -> Any:
    """Run `body(world)` in a fresh World whose devices are `adapter` processes."""
    async def run():
        pg_database.reset()
        world = World(client=f"cmd:{adapter}", database=pg_database, store_root=tmp_path,
                      devices={d: {"user": "alice"} for d in devices})
        try:
            return await body(world)
        finally:
            await world.aclose()
    return asyncio.run(run())


def test_hello_declares_protocol_profile_policy_and_capabilities(adapter):
    info = describe(adapter)
    assert info["protocol"] == 1
    assert isinstance(info.get("profile"), str) and info["profile"]
    assert info["policy"]["order"] in ("server_updated_at", "client_modified_at", "arrival")
    assert info["policy"].get("granularity", "record") in ("record", "field")
    unknown = set(info["capabilities"]) - set(CAPABILITIES)
    assert not unknown, f"capabilities this protocol does not define: {unknown}"
    assert set(info["fault_points"]) <= set(FAULT_POINTS), info["fault_points"]


def test_refuses_an_unknown_protocol_version_and_exits(adapter):
    hello = json.dumps({"id": 1, "cmd": "hello", "args": {"protocols": [99]}})
    proc = subprocess.Popen(argv_of(adapter), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        proc.stdin.write(hello + "\n")
        proc.stdin.flush()
        reply = json.loads(proc.stdout.readline())
        code = proc.wait(timeout=30)  # stdin still open: it must leave on its own
    finally:
        proc.kill()
        proc.wait()
    assert reply["id"] == 1 and reply["ok"] is False, reply
    assert reply["error"]["kind"] == "protocol_version", reply
    assert code is not None


def test_answers_each_command(adapter, pg_database, tmp_path):
    async def body(world: World):
        a = world.devices["A"]
        await world.sign_in("A")
        assert world.backends.user_ids["alice"], "sign_up gave no user id, and none is in auth.users"
        wid = await a.client.write(DAILY, IDS[0], {"date": "2026-03-01", "steps": 10})
        assert isinstance(wid, str) and wid
        assert await a.client.read(DAILY, IDS[0]) == {"date": "2026-03-01", "steps": 10}
        assert await a.client.read(DAILY, IDS[1]) is None
        for path in ("supabase", "cloudkit"):
            await a.client.sync(path)
        await a.client.login_sync()
        gone = await a.client.delete(DAILY, IDS[0])
        assert gone != wid and await a.client.read(DAILY, IDS[0]) is None
        with pytest.raises(KeyError):
            await a.client.delete(DAILY, IDS[1])
        assert isinstance(await a.call("snapshot"), dict)
        await a.client.sign_out()
        await world.sign_in("A")
        reply = await a.process.call("no_such_command", {})
        assert reply["ok"] is False and reply["error"]["kind"] == "bad_command", reply
        return world.history
    history = drive(pg_database, tmp_path, adapter, body)
    assert [e for e in history if e.type == "persist"], "no persist event was sent"
    assert all(e.process in ("A", "A/supabase", "A/cloudkit") for e in history if e.type == "persist")


def test_decode_names_the_write_a_backend_row_holds(adapter, pg_database, tmp_path):
    if "decode" not in describe(adapter)["capabilities"]:
        pytest.skip("the adapter does not declare decode")

    async def body(world: World):
        a = world.devices["A"]
        await world.sign_in("A")
        wid = await a.client.write(DAILY, IDS[2], {"date": "2026-03-02", "steps": 1})
        await a.client.sync("supabase")
        await a.client.sync("cloudkit")
        ck = world.backends.cloudkit.db("alice").zones[ZONE].records[IDS[2]]
        record = {"recordName": IDS[2], "recordType": ck.type, "fields": {
            "payload": {"value": _ck_value(ck.fields, "payload"), "type": "BYTES"},
            "keyVersion": {"value": _ck_value(ck.fields, "keyVersion"), "type": "INT64"}}}
        from_ck = await a.call("decode", type=DAILY, id=IDS[2], backend="cloudkit", row=record,
                               user_id=world.backends.user_ids["alice"])
        with world.backends.database.connect() as conn:
            payload, version = conn.execute("select payload, key_version from public.daily_logs "
                                            "where id = %s", (IDS[2],)).fetchone()
        opened = await a.call("decode", type=DAILY, id=IDS[2], backend="supabase",
                              row={"payload": payload, "key_version": version},
                              user_id=world.backends.user_ids["alice"])
        garbage = await a.call("decode", type=DAILY, id=IDS[2], backend="supabase",
                               row={"payload": "bm90IGEgcGF5bG9hZA==", "key_version": version},
                               user_id=world.backends.user_ids["alice"])
        return wid, opened, from_ck, garbage
    wid, opened, from_ck, garbage = drive(pg_database, tmp_path, adapter, body)
    assert opened["write_id"] == wid and opened["fields"] == {"date": "2026-03-02", "steps": 1}
    assert from_ck["write_id"] == wid and from_ck["fields"] == opened["fields"], from_ck
    assert garbage == {"undecryptable": True}


def test_reports_its_store_faithfully(adapter, pg_database, tmp_path):
    async def body(world: World):
        a = world.devices["A"]
        await world.sign_in("A")
        wids = {rid: await a.client.write(DAILY, rid, {"date": "2026-03-03", "steps": n})
                for n, rid in enumerate(IDS[:3])}
        pending = await a.call("snapshot")
        last_persisted = a.snapshot
        for path in ROUTES[DAILY]:
            await a.client.sync(path)
        synced = await a.call("snapshot")
        return wids, pending, last_persisted, synced
    wids, pending, last_persisted, synced = drive(pg_database, tmp_path, adapter, body)
    assert pending == last_persisted, "the snapshot differs from what the last persist event said"
    for n, (rid, wid) in enumerate(wids.items()):
        rec = pending[DAILY][rid]
        assert (rec["write_id"], rec["fields"], rec["deleted"], rec["needs_sync"]) == (
            wid, {"date": "2026-03-03", "steps": n}, False, True), rec
        assert synced[DAILY][rid]["needs_sync"] is False, synced[DAILY][rid]


def test_survives_a_restart_and_a_crash_with_its_store(adapter, pg_database, tmp_path):
    async def body(world: World):
        a = world.devices["A"]
        await world.sign_in("A")
        wid = await a.client.write(DAILY, IDS[3], {"date": "2026-03-04", "steps": 4})
        before = await a.call("snapshot")
        first = a.process.proc.pid
        await world.restart("A")
        assert a.process.proc.pid != first, "restart did not relaunch the process"
        after_restart = (await a.call("snapshot"), await a.client.read(DAILY, IDS[3]))
        world.decide("crash", device="A", point="before_send")
        await world.sync("A", "supabase")
        crashed = a.crashed
        await world.sync("A", "supabase")  # relaunches, then syncs
        return wid, before, after_restart, crashed, await a.call("snapshot"), world.history
    wid, before, (after, read), crashed, final, history = drive(pg_database, tmp_path, adapter, body)
    assert after == before and read == {"date": "2026-03-04", "steps": 4}
    assert crashed, "the crash rule at before_send did not crash the adapter"
    assert any(e.f == "crash" for e in history), "no crash recorded"
    assert final[DAILY][IDS[3]]["write_id"] == wid
