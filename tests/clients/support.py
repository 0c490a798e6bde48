"""Test rig for the reference clients: in-process fakes on the production hostnames, one virtual
clock, devices built through clients.make."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx

import clients
from clients.api import ClientCrashed, Hooks
from clients.crypto import KeyVault
from harness.clock import SkewedClock, VirtualClock
from tests.clients.standin_supabase import StandInSupabase

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
    def __init__(self, tmp_path, supabase_transport: httpx.AsyncBaseTransport | None = None, **ck_config: Any):
        from fakes.cloudkit import CloudKit, Config
        from fakes.cloudkit.wire import asgi_app

        self.tmp_path, self.clock, self.vault = tmp_path, VirtualClock(), KeyVault("rig")
        self.ck = CloudKit(CONTAINER, clock=self.clock, config=Config(**ck_config))
        self.sb = StandInSupabase(self.clock)
        self.ck_transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=asgi_app(self.ck))
        self.sb_transport: httpx.AsyncBaseTransport = supabase_transport or self.sb.transport()
        mounts = {CK_HOST: Switchable(self, "ck_transport"), SB_URL: Switchable(self, "sb_transport")}
        self.mounts = mounts
        self._https: list[httpx.AsyncClient] = []

    def device(self, variant: str, name: str, *, skew: float = 0.0, **kwargs: Any) -> "clients.ReferenceClient":
        http = httpx.AsyncClient(mounts=self.mounts)
        self._https.append(http)
        kwargs.setdefault("key_vault", self.vault)
        return clients.make(variant, device=name, http=http, store_path=str(self.tmp_path / f"{name}.json"),
                            clock=SkewedClock(self.clock, skew), supabase_url=SB_URL, cloudkit_container=CONTAINER,
                            cloudkit_api_token="fake-ck-api-token",
                            cloudkit_sign_in=lambda email: self.ck.mint_web_auth_token(email, name), **kwargs)


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
