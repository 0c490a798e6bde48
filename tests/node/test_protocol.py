"""The Node adapter's side of the device protocol v1, beyond what the findings exercise: version
refusal, errors as kinds, a store that survives a relaunch, and retryAfter waited through the
harness's `sleep` event (virtual time: nothing sleeps for real)."""

from __future__ import annotations

import asyncio

import pytest

from tests.node.conftest import ADAPTER
from tests.node.driver import CommandFailed, ProtocolDevice, node_env
from tests.node.support import rid

pytestmark = pytest.mark.node


def test_an_unknown_protocol_version_is_refused_and_the_adapter_exits(node_modules, tmp_path):
    async def scenario():
        proc = await asyncio.create_subprocess_exec(
            "node", str(ADAPTER), "fixed", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env=node_env(node_modules))
        out, _ = await asyncio.wait_for(proc.communicate(b'{"id":1,"cmd":"hello","args":{"protocols":[2]}}\n'), 20)
        return proc.returncode, out

    code, out = asyncio.run(scenario())
    assert code != 0 and b'"kind":"protocol_version"' in out


def test_errors_come_back_as_kinds_and_the_store_survives_a_relaunch(backends):
    async def scenario():
        b = await backends.node("fixed", "B")
        errors = {}
        for name, cmd, args in [("before sign-in", "sync", {"path": "supabase"}),
                                ("unknown command", "teleport", {}),
                                ("bad path", "sync", {"path": "dropbox"}),
                                ("bad type", "write", {"type": "recipes", "id": "x", "fields": {}}),
                                ("nothing to delete", "delete", {"type": "photos", "id": rid()})]:
            try:
                await b.command(cmd, **args)
            except CommandFailed as exc:
                errors[name] = exc.kind
        await b.command("sign_up", **backends.auth("B"))
        record = rid()
        await b.command("write", type="photos", id=record, fields={"caption": "kept"})
        before = await b.command("snapshot")
        await b.relaunch()
        return errors, before, await b.command("snapshot"), await b.command("read", type="photos", id=record)

    errors, before, after, read = backends.run(scenario)
    assert errors == {"before sign-in": "not_signed_in", "unknown command": "bad_command", "bad path": "invalid",
                      "bad type": "invalid", "nothing to delete": "not_found"}
    assert before == after and read == {"fields": {"caption": "kept"}}
    (photo,) = after["photos"].values()
    assert photo["needs_sync"] is True and photo["write_id"].startswith("B-")


def test_a_503_with_retry_after_becomes_a_sleep_event_and_the_sync_goes_on(backends):
    async def scenario():
        b = await backends.node("fixed", "B")
        await b.command("sign_up", **backends.auth("B"))
        await b.command("write", type="profiles", id=rid(), fields={"display_name": "Bo"})
        backends.gateway.control.add_fault("fail", path="/rest/v1/", status=503, times=1)
        await b.command("sync", path="supabase")
        return [e for e in b.events if e["event"] == "sleep"], await b.command("snapshot")

    sleeps, snapshot = backends.run(scenario)
    assert len(sleeps) == 1 and sleeps[0]["seconds"] > 0
    assert [r["needs_sync"] for r in snapshot["profiles"].values()] == [False]
