"""Crashes at every fault point, disk faults, garbage from a backend, throttling: what the
remediated client keeps, and the clear errors it raises."""

import errno

import httpx
import pytest

from dualsync.clients.api import FAULT_POINTS, ClientCrashed, Hooks
from dualsync.clients.errors import BackendGarbage, ClientError
from dualsync.clients.storage import FaultyStorage
from tests.clients.support import CrashAt, record_id, run, signed_in, signed_up


async def both(device):
    await device.sync("supabase")
    await device.sync("cloudkit")


@pytest.mark.parametrize("point", FAULT_POINTS)
@pytest.mark.parametrize("nth", [1, 2])
def test_a_crash_anywhere_in_a_sync_loses_nothing_committed_locally(rig, point, nth):
    crash = CrashAt(None, nth=nth)

    async def scenario():
        a = await signed_up(rig.device("coordinated", "A", hooks=Hooks(fault_point=crash)))
        ids = {t: record_id() for t in ("daily_logs", "photos", "profiles")}
        for rtype, rid in ids.items():
            a.write(rtype, rid, {"n": rid})
        crash.point = point                    # armed once the edits are committed
        with pytest.raises(ClientCrashed):
            await both(a)
        crash.point = None
        await a.restart()                      # the store on disk is readable
        assert all(a.read(t, i) == {"n": i} for t, i in ids.items())
        await both(a)
        b = await signed_in(rig.device("coordinated", "B"))
        await both(b)
        return {t: b.read(t, i) for t, i in ids.items()}, ids

    seen, ids = run(scenario())
    assert seen == {t: {"n": i} for t, i in ids.items()}


@pytest.mark.parametrize("fault", ["EIO", "ENOSPC"])
def test_a_failed_persist_refuses_the_edit_and_keeps_the_store(rig, fault):
    storage = FaultyStorage()

    async def scenario():
        a = await signed_up(rig.device("coordinated", "A", storage=storage))
        kept = record_id()
        a.write("daily_logs", kept, {"steps": 1})
        storage.fail_next(fault)
        with pytest.raises(OSError) as caught:
            a.write("daily_logs", record_id(), {"steps": 2})
        await a.restart()
        return caught.value.errno, len([r for r in a.store.records["daily_logs"].values()]), a.read("daily_logs", kept)

    code, count, kept = run(scenario())
    assert code == getattr(errno, fault) and count == 1 and kept == {"steps": 1}


def test_losing_unflushed_writes_after_a_sync_keeps_a_consistent_store(rig):
    storage = FaultyStorage()

    async def scenario():
        a = await signed_up(rig.device("coordinated", "A"))
        rid = record_id()
        a.write("daily_logs", rid, {"steps": 3})
        await a.sync("supabase")
        b = await signed_in(rig.device("coordinated", "B", storage=storage))
        storage.fail_next("EIO", op="fsync")      # the sync's persist never reaches the disk
        with pytest.raises(OSError):
            await b.sync("supabase")
        storage.lose_unflushed()
        await b.restart()
        assert b.read("daily_logs", rid) is None  # nothing half-there: cursor and rows went together
        await b.sync("supabase")
        return b.read("daily_logs", rid)

    assert run(scenario()) == {"steps": 3}


class Garbage(httpx.AsyncBaseTransport):
    def __init__(self, body: bytes):
        self.body = body

    async def handle_async_request(self, request):
        return httpx.Response(200, content=self.body, headers={"content-type": "application/json"})


@pytest.mark.parametrize("backend, body, message", [
    ("sb_transport", b"<html>502 Bad Gateway</html>", "supabase answered garbage: .* not JSON"),
    ("sb_transport", b'{"rows": []}', "supabase answered garbage: expected a JSON list"),
    ("sb_transport", b'[{"id": "x"}]', "supabase answered garbage: a profiles row lacks"),
    ("ck_transport", b'{"zones": "nope"}', "cloudkit answered garbage"),
    ("ck_transport", b"\x00\x01", "cloudkit answered garbage: .* not JSON"),
])
def test_a_backend_answering_garbage_is_a_clear_client_error(rig, backend, body, message):
    async def scenario():
        a = await signed_up(rig.device("coordinated", "A"))
        setattr(rig, backend, Garbage(body))
        await a.sync("supabase" if backend == "sb_transport" else "cloudkit")

    with pytest.raises(BackendGarbage, match=message):
        run(scenario())


def test_throttling_is_waited_out_on_the_device_clock_as_retry_after_says(rig):
    async def scenario():
        a = await signed_up(rig.device("coordinated", "A"))
        a.write("photos", record_id(), {"caption": "x"})
        await a.sync("cloudkit")
        a.write("photos", record_id(), {"caption": "y"})
        rig.ck.inject_fault("throttle", op="records/modify", retry_after=42.0)
        before = rig.clock.now()
        await a.sync("cloudkit")
        return rig.clock.now() - before, len(a.store.pending("cloudkit"))

    waited, pending = run(scenario())
    assert waited == 42.0 and pending == 0


def test_a_refused_upload_does_not_stop_the_pull_and_stays_queued(rig):
    async def scenario():
        a = await signed_up(rig.device("coordinated", "A"))
        b = await signed_in(rig.device("coordinated", "B"))
        theirs, mine = record_id(), record_id()
        a.write("profiles", theirs, {"display_name": "from A"})
        await a.sync("supabase")
        b.write("profiles", mine, {"display_name": "from B"})
        rig.sb.fail_next(400, "/rest/v1/profiles")
        with pytest.raises(ClientError, match="supabase error 400"):
            await b.sync("supabase")
        pulled, queued = b.read("profiles", theirs), b.store.get("profiles", mine).needs_sync
        await b.sync("supabase")
        return pulled, queued, b.store.get("profiles", mine).needs_sync

    assert run(scenario()) == ({"display_name": "from A"}, True, False)
