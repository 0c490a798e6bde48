"""Fixtures for the Node client tier: the npm project installed at test time (skipped with the
reason where npm cannot), the Supabase gateway and the CloudKit fake on loopback, and devices
built on them: Node adapters driven through the device protocol, and Python reference clients
over the same backends (for interop)."""

from __future__ import annotations

import asyncio
import pathlib
import time

import httpx
import pytest

from dualsync.contracts.npm import require_project
from tests.node.driver import ProtocolDevice, node_env

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "node-sync"
ADAPTER = PROJECT / "adapter.js"
SECRET = "node-tier"
PASSWORD = "s3cret-pass"



@pytest.fixture(scope="session")
def node_modules():
    return require_project("Node client tier", PROJECT, "node-sync")


class Backends:
    """The two backends on loopback, and devices made on them."""

    def __init__(self, tmp_path, node_modules, gateway, sb_server, ck, db=None):
        self.tmp_path, self.node_modules, self.gateway_db = tmp_path, node_modules, db
        self.gateway, self.sb_url, self.ck = gateway, sb_server.url, ck
        self._http: list[httpx.AsyncClient] = []
        self.devices: list[ProtocolDevice] = []

    def run(self, scenario):
        """Run an async scenario; every adapter it launched is shut down (or killed) afterwards."""
        async def guarded():
            try:
                return await scenario()
            finally:
                for device in self.devices:
                    await device.close()
                for http in self._http:
                    await http.aclose()

        return asyncio.run(guarded())

    def config(self, device: str) -> dict:
        return {"device": device, "user": "ana", "store_dir": str(self.tmp_path / device), "seed": 1,
                "profile": "fitme",
                "supabase": {"url": self.sb_url, "anon_key": self.gateway.config.anon_key},
                "cloudkit": {"url": self.ck.base_url, "container": self.ck.ck.container_id,
                             "environment": "development", "api_token": self.ck.api_token},
                "keys": {"secret": SECRET}, "clock": {"virtual": False}, "timeouts": {"command_s": 30}}

    async def node(self, variant: str, device: str) -> ProtocolDevice:
        adapter = ProtocolDevice(["node", str(ADAPTER), variant], self.config(device), env=node_env(self.node_modules))
        self.devices.append(adapter)
        return await adapter.launch()

    def auth(self, device: str, email: str = "ana@example.com") -> dict:
        return {"email": email, "password": PASSWORD, "cloudkit_web_auth_token": self.ck.mint(email, device)}

    def gateway_rows(self, table: str) -> list[dict]:
        """Every row of `table` as the backend holds it (JSON types, as the REST API returns them)."""
        from psycopg.rows import dict_row

        with self.gateway_db.connect(row_factory=dict_row) as conn:
            rows = conn.execute(f"select * from public.{table} order by updated_at, id").fetchall()
        return [{k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if k in ("id", "user_id") else v)
                 for k, v in r.items()} for r in rows]

    def python(self, variant: str, device: str):
        """A Python reference client on the same backends, through their loopback ports."""
        from dualsync import clients
        from dualsync.clients.crypto import KeyVault

        http = httpx.AsyncClient(mounts={"https://api.apple-cloudkit.com": Rebase(self.ck.base_url)})
        self._http.append(http)
        return clients.make(variant, device=device, http=http, store_path=str(self.tmp_path / f"{device}.json"),
                            clock=time.time, key_vault=KeyVault(SECRET), supabase_url=self.sb_url,
                            supabase_key=self.gateway.config.anon_key, cloudkit_container=self.ck.ck.container_id,
                            cloudkit_api_token=self.ck.api_token,
                            cloudkit_sign_in=lambda email: self.ck.mint(email, device))


class Rebase(httpx.AsyncBaseTransport):
    """Sends a request for Apple's host to the CloudKit fake's loopback port instead."""

    def __init__(self, base_url: str):
        self.base = httpx.URL(base_url)
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme=self.base.scheme, host=self.base.host, port=self.base.port)
        request.headers["host"] = f"{self.base.host}:{self.base.port}"
        return await self.inner.handle_async_request(request)


@pytest.fixture
def backends(tmp_path, node_modules, pg, supabase_gateway, supabase_server, cloudkit_server):
    return Backends(tmp_path, node_modules, supabase_gateway, supabase_server, cloudkit_server, pg)
