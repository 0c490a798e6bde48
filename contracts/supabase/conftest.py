"""Targets for the Supabase contract suite.

    inprocess   the gateway's ASGI app through an in-process transport (no sockets)
    loopback    the same gateway served by uvicorn on 127.0.0.1
    external    --supabase-url/--supabase-anon-key/--supabase-service-key when given (a real stack,
                e.g. `supabase start` then `supabase status`; load contract_schema.sql into it first);
                otherwise a second, standalone gateway (`python -m dualsync.fakes.supabase`) in a child process

Select one with `-k inprocess` / `-k loopback` / `-k external`. Without a real stack, only the
modules that set STANDALONE_SMOKE (auth, supabase-py) run against the standalone gateway.
"""

from __future__ import annotations

import httpx
import psycopg
import pytest

from dualsync.fakes.supabase import pytest_plugin
from dualsync.fakes.supabase.serving import InProcessTransport

from .targets import PASSWORD, SCHEMA_SQL, StandaloneGateway, Target, User, new_email, sign_up


@pytest.fixture(scope="session")
def contract_schema(pg_database):
    with psycopg.connect(pg_database.admin.dsn(), autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text())


@pytest.fixture(scope="session")
def external_target(pytestconfig, pg_server):
    given = pytest_plugin.external_target(pytestconfig)
    if given is not None:
        yield Target("external", given.url, given.anon_key, given.service_key, jwt_secret=given.jwt_secret,
                     apikey_enforced=False)   # a CLI stack does not check apikey; hosted does
        return
    db = pg_server.new_database("ext")
    gateway = StandaloneGateway(db.admin.dsn())
    try:
        yield gateway.target()
    finally:
        gateway.stop()
        pg_server.drop_database(db)


def pytest_generate_tests(metafunc):
    """Every test runs in-process and over loopback; against a real stack when one is given. Without
    one, modules marked STANDALONE_SMOKE also run against the standalone gateway (enough to keep the
    external path honest without a third full run)."""
    if "target" not in metafunc.fixturenames:
        return
    real = pytest_plugin.external_target(metafunc.config) is not None
    smoke = getattr(metafunc.module, "STANDALONE_SMOKE", False)
    metafunc.parametrize("target", ["inprocess", "loopback"] + (["external"] if real or smoke else []), indirect=True)


@pytest.fixture
def target(request, contract_schema) -> Target:
    if request.param == "external":
        return request.getfixturevalue("external_target")
    # Contract tests make their own users and ids, so the tables need no reset between them.
    gateway = request.getfixturevalue("supabase_session_gateway")
    gateway.control.clear_faults()
    common = dict(anon_key=gateway.config.anon_key, service_key=gateway.config.service_key,
                  jwt_secret=gateway.config.jwt_secret)
    if request.param == "loopback":
        return Target("loopback", request.getfixturevalue("supabase_session_server").url, **common)
    transport = InProcessTransport(gateway.app, request.getfixturevalue("supabase_loop"))
    return Target("inprocess", "http://gateway.local", transport=transport, **common)


@pytest.fixture
def http(target) -> httpx.Client:
    with target.http() as client:
        yield client


@pytest.fixture
def user(http, target) -> User:
    """A user signed up on the target just for this test (a session: access and refresh tokens)."""
    return sign_up(http, target)


@pytest.fixture
def signed_client(target):
    """supabase-py signed in as a user made for this test (its calls carry that user's token)."""
    client = target.supabase()
    client.auth.sign_up({"email": new_email(), "password": PASSWORD})
    return client
