"""Fixtures shared by the gateway's own tests."""

from __future__ import annotations

import httpx
import pytest

from dualsync.fakes.supabase import GatewayConfig
from dualsync.fakes.supabase.gateway import Gateway
from dualsync.fakes.supabase.serving import InProcessTransport

URL = "http://gateway.local"


@pytest.fixture
def make_gateway(pg_database, supabase_loop):
    """make(apikey=False, **GatewayConfig fields) -> (Gateway, httpx.Client into it in process), both
    closed after the test; with `apikey`, the client sends the anon key on every request."""
    made = []

    def make(apikey: bool = False, **settings) -> tuple[Gateway, httpx.Client]:
        gateway = Gateway(GatewayConfig(rest_dsn=pg_database.authenticator.dsn(), admin_dsn=pg_database.admin.dsn(),
                                        **settings))
        client = httpx.Client(transport=InProcessTransport(gateway.app, supabase_loop), base_url=URL,
                              headers={"apikey": gateway.config.anon_key} if apikey else None)
        made.append((gateway, client))
        return gateway, client
    yield make
    for gateway, client in made:
        client.close()
        gateway.close()
