"""Edit stamps: the declared order must rank an edit after the version it edits, whatever the
device clock does in between (a hybrid logical clock)."""

from __future__ import annotations

import dataclasses

import httpx

from dualsync.clients.behaviour import COORDINATED
from dualsync.clients.clock import DeviceClock, ManualClock
from dualsync.clients.device import ReferenceClient
from dualsync.clients.store import LocalRecord

RID = "0a000000-0000-4000-8000-000000000001"


def device(tmp_path, behaviour=COORDINATED):
    clock = DeviceClock(ManualClock(1_000.0))
    client = ReferenceClient(name="B", behaviour=behaviour, http=httpx.AsyncClient(),
                             store_path=str(tmp_path / "B" / "store.json"), clock=clock)
    return client, clock


def stamp(client) -> int:
    return client.store.get("daily_logs", RID).modified_us


def test_a_clock_set_back_between_two_edits_still_stamps_the_later_edit_later(tmp_path):
    client, clock = device(tmp_path)
    client.write("daily_logs", RID, {"steps": 1})
    first = stamp(client)
    clock.skew = -3600.0  # the user sets the clock back an hour
    client.write("daily_logs", RID, {"steps": 2})
    assert stamp(client) == first + 1
    assert client.policy.stamps == "hybrid_logical"


def test_an_edit_of_a_pulled_version_stamped_ahead_ranks_after_it(tmp_path):
    client, _clock = device(tmp_path)
    ahead = LocalRecord("daily_logs", RID, {"steps": 7}, False, write_id="A-0001.000001",
                        modified_us=5_000_000_000, device="A")
    client.store.put(ahead)  # what a pull of device A's edit leaves in the store
    client.write("daily_logs", RID, {"steps": 8})
    assert stamp(client) == 5_000_000_001
    client.delete("daily_logs", RID)
    assert stamp(client) == 5_000_000_002  # a delete is an edit like any other


def test_a_new_record_is_stamped_with_the_device_clock(tmp_path):
    client, _clock = device(tmp_path)
    client.write("daily_logs", RID, {"steps": 1})
    assert stamp(client) == 1_000_000_000


def test_device_clock_stamps_go_back_with_the_clock(tmp_path):
    """The seeded bug: stamping the clock reading alone ranks the later edit first."""
    client, clock = device(tmp_path, dataclasses.replace(COORDINATED, hybrid_stamps=False))
    client.write("daily_logs", RID, {"steps": 1})
    first = stamp(client)
    clock.skew = -3600.0
    client.write("daily_logs", RID, {"steps": 2})
    assert stamp(client) == first - 3_600_000_000
