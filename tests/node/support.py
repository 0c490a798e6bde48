"""Helpers for the Node tier's scenarios: record ids, fault-point gates, the user's id."""

from __future__ import annotations

import asyncio
import itertools

import httpx

from tests.node.driver import ProtocolDevice

_ids = itertools.count(1)


def rid() -> str:
    """A fresh client-generated uuid, as the app makes them."""
    return f"00000000-0000-4000-8000-{next(_ids):012d}"


async def until_persist(device: ProtocolDevice, after: int, quiet_s: float | None = None) -> None:
    """Done when the device persists after a sync (an event past index `after`). With `quiet_s`,
    also when nothing else happened for that long: a client that persists only once both paths
    are done (fixed) has nothing to wait for, and the held path simply goes second."""
    seen = len(device.events)
    idle = 0.0
    while True:
        if any(e["event"] == "persist" and e["path"] != "local" for e in device.events[after:]):
            return
        await asyncio.sleep(0.02)
        idle = 0.0 if len(device.events) != seen else idle + 0.02
        seen = len(device.events)
        if quiet_s is not None and idle >= quiet_s:
            return


def hold_path_until_other_persists(device: ProtocolDevice, slow: str, sequenced: bool) -> None:
    """The `slow` path's requests wait until the device has persisted after another path's
    sync (so that path finishes last, whatever the real speed of either backend). For a client
    that runs the paths one after the other (`sequenced`), they wait only while the other path
    is busy."""
    start = len(device.events)

    def gate(event: dict):
        if event["point"] in ("before_send", "after_reply") and event["path"] == slow:
            return until_persist(device, start, 0.15 if sequenced else None)
        return None

    device.gate = gate


async def seeded(backends, device: str = "A", email: str = "ana@example.com") -> tuple[ProtocolDevice, dict]:
    """A (Node, fixed) signs up and puts a profile on Supabase, a photo on CloudKit, a daily
    log on both."""
    a = await backends.node("fixed", device)
    await a.command("sign_up", **backends.auth(device, email))
    ids = {"profiles": rid(), "photos": rid(), "daily_logs": rid()}
    values = {"profiles": {"display_name": "Ana"}, "photos": {"caption": "day one"}, "daily_logs": {"steps": 9000}}
    for table, record in ids.items():
        await a.command("write", type=table, id=record, fields=values[table])
    await a.command("sync", path="supabase")
    await a.command("sync", path="cloudkit")
    return a, ids


async def reads(device: ProtocolDevice, ids: dict) -> dict:
    return {t: (await device.command("read", type=t, id=i))["fields"] for t, i in ids.items()}


def user_id(backends, email: str = "ana@example.com") -> str:
    from tests.node.conftest import PASSWORD

    response = httpx.post(f"{backends.sb_url}/auth/v1/token?grant_type=password",
                          headers={"apikey": backends.gateway.config.anon_key},
                          json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["user"]["id"]
