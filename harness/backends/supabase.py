"""Supabase adapters: what the harness needs of a Supabase, served in process or elsewhere.

- `InProcessSupabase`: the gateway (PostgREST + GoTrue behaviour) over this worker's database, on
  the World's virtual clock, with a hook inside each write transaction (`hold at: commit`).
- `RemoteSupabase`: any Supabase at a URL with the Postgres DSN behind it: a `supabase start`
  stack, or the standalone gateway (`python -m dualsync.fakes.supabase`). Devices reach it over
  the network through the Conductor; the harness reads and damages rows through the DSN. Its
  server clock is its own and it has no transaction hook, so it lacks those capabilities.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import httpx
import psycopg

from dualsync.fakes.supabase import tokens
from dualsync.harness.backends.capabilities import DAMAGE, HOLD_AT_COMMIT, VIRTUAL_SERVER_TIME

IN_PROCESS_URL = "https://dualsync.supabase.co"  # the in-process gateway's name on the devices' transport


@dataclasses.dataclass(frozen=True)
class SupabaseTarget:
    """Where a remote Supabase is: its API URL, the Postgres DSN behind it (a superuser), and its
    JWT secret (the anon key is derived from it unless given)."""

    url: str
    dsn: str
    jwt_secret: str = tokens.DEFAULT_SECRET
    anon_key: str = ""

    def key(self) -> str:
        return self.anon_key or tokens.api_key("anon", self.jwt_secret)


class InProcessSupabase:
    name = "supabase"
    capabilities = frozenset({HOLD_AT_COMMIT, VIRTUAL_SERVER_TIME, DAMAGE})
    url = IN_PROCESS_URL

    def __init__(self, database: Any, clock: Any):
        from dualsync.fakes.supabase.gateway import Gateway, GatewayConfig
        utc = lambda: dt.datetime.fromtimestamp(clock.now(), tz=dt.timezone.utc)  # noqa: E731
        self.database = database
        self.gateway = Gateway(GatewayConfig(rest_dsn=database.authenticator.dsn(),
                                             admin_dsn=database.admin.dsn()), clock=utc)
        self.transport = httpx.ASGITransport(self.gateway.app)
        self.anon_key, self.jwt_secret = self.gateway.config.anon_key, self.gateway.config.jwt_secret

    def connect(self) -> psycopg.Connection:
        return self.database.connect()

    def attach(self, conductor: Any) -> None:
        self.gateway.before_commit = conductor.before_commit

    async def aclose(self) -> None:
        await self.gateway.aclose()


class RemoteSupabase:
    name = "supabase"
    capabilities = frozenset({DAMAGE})

    def __init__(self, target: SupabaseTarget):
        self.target, self.url = target, target.url.rstrip("/")
        self.transport = httpx.AsyncHTTPTransport()
        self.anon_key, self.jwt_secret = target.key(), target.jwt_secret

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.target.dsn, autocommit=True)

    def attach(self, conductor: Any) -> None:
        pass  # no hook inside its transactions: `hold at: commit` needs the in-process gateway

    async def aclose(self) -> None:
        await self.transport.aclose()


def check_remote(target: SupabaseTarget, app: Any) -> None:
    """Before any device starts: the URL answers as a Supabase, and the database behind the DSN
    has the app's tables. Raises RemoteProblem naming the URL or DSN and the fix."""
    try:
        reply = httpx.get(f"{target.url.rstrip('/')}/auth/v1/health", timeout=5,
                          headers={"apikey": target.key()})
    except httpx.HTTPError as exc:
        raise RemoteProblem(f"--supabase-url {target.url}: does not answer ({exc}); start the stack "
                            "(supabase start, or python -m dualsync.fakes.supabase) or fix the URL") from None
    if reply.status_code >= 500 or reply.status_code == 404:
        raise RemoteProblem(f"--supabase-url {target.url}: /auth/v1/health answered {reply.status_code}; "
                            "is this a Supabase API URL (the stack's 'API URL')?")
    try:
        with psycopg.connect(target.dsn, connect_timeout=5) as conn:
            present = {r[0] for r in conn.execute(
                "select tablename from pg_tables where schemaname = 'public'").fetchall()}
    except psycopg.Error as exc:
        raise RemoteProblem(f"--supabase-dsn: cannot connect ({str(exc).strip().splitlines()[0]}); "
                            "give the superuser DSN of the stack's database") from None
    missing = [t for t in app.tables if t not in present]
    if missing:
        raise RemoteProblem(f"--supabase-dsn: the database lacks the app's tables {', '.join(missing)}; "
                            f"load them with: python -m dualsync.apps sql {app.name} | psql DSN")


class RemoteProblem(RuntimeError):
    """A remote backend cannot be used as given (one line: what, and the fix)."""
