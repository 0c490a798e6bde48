"""Node and Python devices of one user: the Node client seals, stamps and routes records exactly
as the Python reference clients do (clients/codec.py), through both backends, in both directions."""

from __future__ import annotations

import pytest

from tests.node.support import rid, user_id

pytestmark = pytest.mark.node


def test_a_python_device_and_a_node_device_share_one_user(backends):
    async def scenario():
        py = backends.python("coordinated", "P")
        await py.sign_up("ana@example.com", "s3cret-pass")
        mine = {"profiles": rid(), "photos": rid(), "daily_logs": rid()}
        py.write("profiles", mine["profiles"], {"display_name": "Ana", "goal": "gain"})
        py.write("photos", mine["photos"], {"caption": "café ☕"})
        py.write("daily_logs", mine["daily_logs"], {"steps": 9000, "note": "first"})
        await py.sync("supabase")
        await py.sync("cloudkit")

        node = await backends.node("fixed", "N")
        await node.command("sign_in", **backends.auth("N"))
        await node.command("login_sync")
        got_on_node = {t: (await node.command("read", type=t, id=i))["fields"] for t, i in mine.items()}

        theirs = {"weekly_snapshots": rid(), "cardio_sessions": rid()}
        await node.command("write", type="weekly_snapshots", id=theirs["weekly_snapshots"], fields={"workouts": 4})
        await node.command("write", type="cardio_sessions", id=theirs["cardio_sessions"], fields={"minutes": 45})
        edit = await node.command("write", type="daily_logs", id=mine["daily_logs"], fields={"steps": 12000})
        await node.command("delete", type="photos", id=mine["photos"])
        await node.command("sync", path="supabase")
        await node.command("sync", path="cloudkit")

        # Python pulls the Node device's writes through one path, then the other.
        await py.sync("supabase")
        after_supabase = py.read("daily_logs", mine["daily_logs"])
        await py.sync("cloudkit")
        got_on_python = {t: py.read(t, i) for t, i in {**mine, **theirs}.items()}
        held = py.store.get("daily_logs", mine["daily_logs"])

        # The harness's `decode` of a row Python sealed, through the Node adapter.
        row = next(r for r in backends.gateway_rows("profiles") if r["id"] == mine["profiles"])
        decoded = await node.command("decode", type="profiles", id=mine["profiles"], backend="supabase", row=row)
        garbage = await node.command("decode", type="profiles", id=mine["profiles"], backend="supabase",
                                     row={**row, "payload": "Z" + row["payload"][1:]})
        return got_on_node, after_supabase, got_on_python, held, edit, decoded, garbage, py.store.get("profiles", mine["profiles"])

    got_on_node, after_supabase, got_on_python, held, edit, decoded, garbage, profile = backends.run(scenario)
    assert got_on_node == {"profiles": {"display_name": "Ana", "goal": "gain"}, "photos": {"caption": "café ☕"},
                           "daily_logs": {"steps": 9000, "note": "first"}}
    assert after_supabase == {"steps": 12000}
    assert got_on_python == {"profiles": {"display_name": "Ana", "goal": "gain"}, "photos": None,
                             "daily_logs": {"steps": 12000}, "weekly_snapshots": {"workouts": 4},
                             "cardio_sessions": {"minutes": 45}}
    assert held.write_id == edit["write_id"] and held.device == "N" and not held.needs_sync
    assert decoded == {"write_id": profile.write_id, "deleted": False, "fields": {"display_name": "Ana", "goal": "gain"}}
    assert garbage == {"undecryptable": True}


def test_node_seals_byte_for_byte_what_python_seals(backends):
    """Same write, same key: the same payload (deterministic nonce, the same JSON), so replays
    and the checkers' attribution do not depend on which language wrote a record."""
    from dualsync.clients.codec import open_record, seal_record
    from dualsync.clients.crypto import Keychain, KeyVault
    from dualsync.clients.store import LocalRecord
    from tests.node.conftest import SECRET

    async def scenario():
        node = await backends.node("fixed", "N")
        await node.command("sign_up", **backends.auth("N"))
        record = rid()
        write = await node.command("write", type="cardio_sessions", id=record, fields={"minutes": 30, "kind": "row"})
        await node.command("sync", path="supabase")
        return record, write["write_id"]

    record, write_id = backends.run(scenario)
    row = next(r for r in backends.gateway_rows("cardio_sessions") if r["id"] == record)
    user = user_id(backends)
    opened = open_record(Keychain(KeyVault(SECRET)), user, "cardio_sessions", record, row["payload"], row["key_version"])
    assert opened.write_id == write_id and opened.fields == {"minutes": 30, "kind": "row"}
    again = LocalRecord("cardio_sessions", record, opened.fields, False, write_id, opened.modified_us, "N", "save")
    assert seal_record(Keychain(KeyVault(SECRET)), user, again)[0] == row["payload"]
