"""Test rig for the reference clients: in-process fakes on the production hostnames, one virtual
clock, devices built through clients.make."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any

import httpx
from psycopg.rows import dict_row

from dualsync import clients
from dualsync.clients.api import ClientCrashed, Hooks
from dualsync.clients.crypto import KeyVault
from dualsync.clients.storage import FaultyStorage
from dualsync.harness.clock import SkewedClock, VirtualClock

CK_HOST = "https://api.apple-cloudkit.com"
SB_URL = "https://dualsync-test.supabase.co"
CONTAINER = "iCloud.com.fitme.app"


def run(coro):
    return asyncio.run(coro)


class CrashAt:
    """A fault hook that crashes the client the n-th time it passes `point`."""

    def __init__(self, point: str | None = None, nth: int = 1, backend: str | None = None):
        self.point, self.nth, self.backend, self.seen = point, nth, backend, 0

    def __call__(self, name: str, **ctx: Any) -> None:
        if name == self.point and (self.backend is None or ctx.get("backend") == self.backend):
            self.seen += 1
            if self.seen == self.nth:
                raise ClientCrashed(name)


class Rig:
    def __init__(self, tmp_path, supabase: "GatewayBackend", **ck_config: Any):
        from dualsync.fakes.cloudkit import CloudKit, Config
        from dualsync.fakes.cloudkit.wire import asgi_app

        self.tmp_path, self.clock, self.vault = tmp_path, VirtualClock(), KeyVault("rig")
        self.ck = CloudKit(CONTAINER, clock=self.clock, config=Config(**ck_config))
        self.sb = supabase
        self.sb.attach(self.clock)
        self.ck_transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=asgi_app(self.ck))
        self.sb_transport: httpx.AsyncBaseTransport = self.sb.transport()
        mounts = {CK_HOST: Switchable(self, "ck_transport"), SB_URL: Switchable(self, "sb_transport")}
        self.mounts = mounts
        self._https: list[httpx.AsyncClient] = []

    def device(self, variant: str, name: str, *, skew: float = 0.0, **kwargs: Any) -> "clients.ReferenceClient":
        http = httpx.AsyncClient(mounts=self.mounts, verify=False)  # never leaves the process; skips loading CAs
        self._https.append(http)
        kwargs.setdefault("key_vault", self.vault)
        kwargs.setdefault("storage", FaultyStorage())  # durability is modelled, not fsync'ed: fast
        return clients.make(variant, device=name, http=http, store_path=str(self.tmp_path / f"{name}.json"),
                            clock=SkewedClock(self.clock, skew), supabase_url=SB_URL, supabase_key=self.sb.anon_key,
                            cloudkit_container=CONTAINER,
                            cloudkit_api_token="fake-ck-api-token",
                            cloudkit_sign_in=lambda email: self.ck.mint_web_auth_token(email, name), **kwargs)


class GatewayBackend:
    """The project's Supabase gateway (fakes/supabase) over this test's Postgres database, read and
    damaged for assertions through the admin connection."""

    def __init__(self, gateway: Any, database: Any):
        self.gateway, self.database = gateway, database
        self.anon_key = gateway.config.anon_key

    def attach(self, clock: VirtualClock) -> None:
        # Each server transaction reads the World clock plus one more microsecond: like a real
        # server's transaction time, two writes of one row never share an updated_at.
        ticks = itertools.count(1)

        def server_now() -> dt.datetime:
            return dt.datetime.fromtimestamp(clock.now(), tz=dt.timezone.utc) + dt.timedelta(microseconds=next(ticks))

        self.gateway.clock.source = server_now
        self.gateway.clock.injected = True

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.gateway.app, client=("127.0.0.1", 50000))

    def rows(self, table: str) -> list[dict]:
        with self.database.connect(row_factory=dict_row) as conn:
            rows = conn.execute(f"select * from public.{table} order by updated_at, id").fetchall()
        return [{**r, "id": str(r["id"]), "user_id": str(r["user_id"])} for r in rows]

    def corrupt(self, table: str, row_id: str) -> None:
        """Flip the payload's first character: ciphertext damaged on the server, same updated_at."""
        with self.database.connect() as conn:
            conn.execute(f"alter table public.{table} disable trigger stamp_updated_at")
            conn.execute(f"update public.{table} set payload = 'Z' || substr(payload, 2) where id = %s", (row_id,))
            conn.execute(f"alter table public.{table} enable trigger stamp_updated_at")

    def lose_next_reply(self, path: str = "/rest/v1/") -> None:
        self.gateway.control.add_fault("fail_after_commit", method="POST", path=path)

    def hold_next_commit(self, path: str) -> None:
        """The next POST to `path` runs its statements, then waits before COMMIT until released."""
        self.gateway.control.add_fault("hold", method="POST", path=path)

    async def wait_held(self) -> int:
        for _ in range(10_000):
            held = self.gateway.control.held_requests()
            if held:
                return held[0]["seq"]
            await asyncio.sleep(0.001)
        raise AssertionError("no request was held")

    def release(self, seq: int) -> None:
        self.gateway.control.release(seq)

    def fail_next(self, status: int, path: str = "/rest/v1/", times: int = 1) -> None:
        self.gateway.control.add_fault("fail", path=path, status=status, times=times)


class Switchable(httpx.AsyncBaseTransport):
    """Routes through whatever transport the rig holds now, so a test can wrap it (delay, gate)."""

    def __init__(self, rig: Rig, attribute: str):
        self.rig, self.attribute = rig, attribute

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # a network round trip yields to other tasks, as a real one does
        return await getattr(self.rig, self.attribute).handle_async_request(request)


class Slow(httpx.AsyncBaseTransport):
    """Lets every other ready task run `turns` times before each request goes out: this backend
    answers last, deterministically, without real time."""

    def __init__(self, inner: httpx.AsyncBaseTransport, turns: int = 200):
        self.inner, self.turns = inner, turns

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(self.turns):
            await asyncio.sleep(0)
        return await self.inner.handle_async_request(request)


class HeldUntil(httpx.AsyncBaseTransport):
    """Holds every request until `event` is set (e.g. by the device's first persist), so the
    other sync path finishes first whatever the real speed of either backend."""

    def __init__(self, inner: httpx.AsyncBaseTransport, event: asyncio.Event):
        self.inner, self.event = inner, event

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.event.wait()
        return await self.inner.handle_async_request(request)


def hold_until_persist(rig: "Rig", attribute: str, device) -> None:
    """Make backend `attribute` answer only after `device` has persisted once; for a client that
    persists only at the end (coordinated), fall back to `Slow`, since its order is fixed anyway."""
    if device.behaviour.login != "parallel_copies":
        setattr(rig, attribute, Slow(getattr(rig, attribute)))
        return
    event = asyncio.Event()
    previous = device.hooks.on_persist

    def on_persist(snapshot):
        previous(snapshot)
        event.set()

    device.hooks.on_persist = on_persist
    setattr(rig, attribute, HeldUntil(getattr(rig, attribute), event))


def release(rig: "Rig", attribute: str) -> None:
    setattr(rig, attribute, getattr(rig, attribute).inner)


async def signed_up(device, email: str = "ana@example.com", password: str = "s3cret-pass"):
    await device.sign_up(email, password)
    return device


async def signed_in(device, email: str = "ana@example.com", password: str = "s3cret-pass"):
    await device.sign_in(email, password)
    return device


_ids = itertools.count(1)


def record_id() -> str:
    """A fresh client-generated uuid, as the app makes them."""
    return f"00000000-0000-4000-8000-{next(_ids):012d}"
