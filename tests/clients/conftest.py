"""Fixtures for the reference clients' tests: `rig` is a CloudKit fake plus the Supabase gateway
over this worker's Postgres (the `pg` fixture), all on one virtual clock."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.clients.support import GatewayBackend, Rig


@pytest.fixture(scope="session")
def clients_gateway(pg_database):
    from dualsync.fakes.supabase import Gateway, GatewayConfig

    gateway = Gateway(GatewayConfig(rest_dsn=pg_database.authenticator.dsn(), admin_dsn=pg_database.admin.dsn()),
                      clock=lambda: dt.datetime.now(dt.timezone.utc))
    yield gateway
    gateway.close()


@pytest.fixture
def rig(tmp_path, pg, clients_gateway):
    clients_gateway.control.clear_faults()
    clients_gateway.before_commit = None
    return Rig(tmp_path, GatewayBackend(clients_gateway, pg))
