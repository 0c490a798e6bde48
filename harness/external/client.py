"""The DeviceClient API of an external device over the protocol (every method awaitable), and
how an adapter's error replies become the errors the World records."""

from __future__ import annotations

from typing import Any

import httpx

from dualsync.clients.api import ClientCrashed, ResolutionPolicy
from dualsync.clients.errors import ClientError


class AdapterError(ClientError):
    """The adapter answered a command with an error: an observation, as a client's error is."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class AdapterTransportError(httpx.TransportError):
    """The app got no answer from a backend: the outcome is unknown (recorded as `info`)."""


class Auth:
    user_id: str | None = None


class ExternalClient:
    """The DeviceClient API over the protocol (every method awaitable)."""

    def __init__(self, device: Any):  # a harness.external.device.ExternalDevice
        self.device, self.name = device, device.name
        p = device.info["policy"]
        self.policy = ResolutionPolicy(p["order"], p.get("granularity", "record"),
                                       bool(p.get("respects_needs_sync", True)),
                                       p.get("stamps", "device_clock"))
        self.auth = Auth()

    async def sign_up(self, email: str, password: str) -> None:
        await self._sign("sign_up", email, password)

    async def sign_in(self, email: str, password: str) -> None:
        await self._sign("sign_in", email, password)

    async def _sign(self, cmd: str, email: str, password: str) -> None:
        d = self.device
        token = d.world.backends.cloudkit_sign_in(d.user, d.name)(email)
        value = await d.call(cmd, email=email, password=password, cloudkit_web_auth_token=token)
        uid = value.get("user_id") if isinstance(value, dict) else None
        self.auth.user_id = uid or _user_id(d.world, email)

    async def sign_out(self) -> None:
        await self.device.call("sign_out")

    async def write(self, record_type: str, record_id: str, fields: dict[str, Any]) -> str:
        return (await self.device.call("write", type=record_type, id=record_id, fields=fields))["write_id"]

    async def delete(self, record_type: str, record_id: str) -> str:
        try:
            return (await self.device.call("delete", type=record_type, id=record_id))["write_id"]
        except AdapterError as exc:
            if exc.kind == "not_found":
                raise KeyError(str(exc)) from None
            raise

    async def read(self, record_type: str, record_id: str) -> dict[str, Any] | None:
        return (await self.device.call("read", type=record_type, id=record_id))["fields"]

    async def login_sync(self) -> None:
        await self.device.call("login_sync")

    async def sync(self, path: str) -> None:
        await self.device.call("sync", path=path)

    async def restart(self) -> None:
        await self.device.relaunch()

    async def fetch_snapshot(self) -> None:
        try:
            self.device.snapshot = await self.device.call("snapshot")
            self.device.snapshot_error = None
        except (AdapterError, ClientCrashed) as exc:
            self.device.snapshot_error = str(exc)

    def store_snapshot(self) -> dict[str, Any]:
        """The store as the adapter last reported it (a persist event or a snapshot)."""
        if self.device.snapshot_error:
            raise AdapterError("store", self.device.snapshot_error)
        return self.device.snapshot or {}


def _user_id(world: Any, email: str) -> str | None:
    with world.backends.database.connect() as conn:
        row = conn.execute("select id::text from auth.users where email = %s", (email,)).fetchone()
    return row[0] if row else None
