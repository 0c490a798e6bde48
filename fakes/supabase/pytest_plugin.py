"""pytest plugin: the Supabase gateway over this worker's database.

    supabase_gateway   in-process Gateway over `pg` (emptied before the test); `.app` for
                       httpx.ASGITransport, `.control` for reset/clock/faults, `.before_commit` hook
    supabase_server    the same gateway served by uvicorn on a free 127.0.0.1 port (`.url`)
    supabase_client    a sync httpx.Client into the in-process gateway (no sockets)

    --supabase-url / --supabase-anon-key / --supabase-service-key: a real Supabase (or a second
    gateway) for the contract suite's `external` target.
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from .gateway import Gateway, GatewayConfig
from .serving import InProcessTransport, LoopbackServer, LoopThread

OPTIONS = (("--supabase-url", "base URL of a real Supabase project or stack (e.g. http://127.0.0.1:54321)"),
           ("--supabase-anon-key", "its anon key"),
           ("--supabase-service-key", "its service_role key"),
           ("--supabase-jwt-secret", "optional: its JWT secret, for the contracts that mint tokens"))
REQUIRED = 3


def add_options(parser: pytest.Parser) -> None:
    """Idempotent, so a conftest and the registered plugin may both call it."""
    group = parser.getgroup("dualsync-supabase")
    for name, help_text in OPTIONS:
        try:
            group.addoption(name, default=None, help=help_text)
        except ValueError:
            return


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@dataclasses.dataclass
class External:
    url: str
    anon_key: str
    service_key: str
    jwt_secret: str | None = None


def external_target(config: pytest.Config) -> External | None:
    values = [config.getoption(name, default=None) for name, _ in OPTIONS]
    if not any(values[:REQUIRED]):
        return None
    if not all(values[:REQUIRED]):
        raise pytest.UsageError("--supabase-url, --supabase-anon-key and --supabase-service-key go together: "
                                "give all three (from `supabase status`) or none")
    return External(*values)


@pytest.fixture(scope="session")
def supabase_session_gateway(pg_database):
    gateway = Gateway(GatewayConfig(rest_dsn=pg_database.authenticator.dsn(), admin_dsn=pg_database.admin.dsn()))
    yield gateway
    gateway.close()


@pytest.fixture
def supabase_gateway(pg, supabase_session_gateway):
    """The in-process gateway with clean tables, no faults, the real clock and no hook."""
    gateway = supabase_session_gateway
    gateway.control.clear_faults()
    gateway.clock.set(None)
    gateway.clock.injected, gateway.before_commit = False, None
    return gateway


@pytest.fixture(scope="session")
def supabase_loop():
    loop = LoopThread()
    yield loop
    loop.stop()


@pytest.fixture
def supabase_client(supabase_gateway, supabase_loop):
    with httpx.Client(transport=InProcessTransport(supabase_gateway.app, supabase_loop),
                      base_url="http://gateway.local") as client:
        yield client


@pytest.fixture(scope="session")
def supabase_session_server(supabase_session_gateway):
    server = LoopbackServer(supabase_session_gateway.app).start()
    yield server
    server.stop()


@pytest.fixture
def supabase_server(supabase_gateway, supabase_session_server):
    """The loopback server over the same (freshly reset) gateway."""
    return supabase_session_server
